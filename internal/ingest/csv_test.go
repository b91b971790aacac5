package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// memoryEvents is an in-memory EventWriter that, like the SQL stores, keeps
// one event per (Source, MessageID) and counts the rest as duplicates.
type memoryEvents struct {
	events     []store.Event
	keys       map[string]bool
	batchSizes []int
	failAfter  int // fail every InsertEvents call after this many; 0 never fails
}

func newMemoryEvents() *memoryEvents { return &memoryEvents{keys: map[string]bool{}} }

func (m *memoryEvents) InsertEvents(_ context.Context, events []store.Event) (store.InsertResult, error) {
	if m.failAfter > 0 && len(m.batchSizes) >= m.failAfter {
		return store.InsertResult{}, errDiskFull
	}
	m.batchSizes = append(m.batchSizes, len(events))

	var res store.InsertResult
	for _, ev := range events {
		key := ev.Source + "\x00" + ev.MessageID
		if m.keys[key] {
			res.Duplicates++
			continue
		}
		m.keys[key] = true
		m.events = append(m.events, ev)
		res.Inserted++
	}
	return res, nil
}

var errDiskFull = errors.New("disk full")

var _ EventWriter = (*memoryEvents)(nil)

// fixedClock returns a clock that always reads 2024-05-01 12:00 UTC.
func fixedClock() func() time.Time {
	return func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }
}

// ordersOptions maps the columns of ordersHeader.
func ordersOptions() CSVOptions {
	return CSVOptions{
		Event:      "order_placed",
		TimeColumn: "OrderDate",
		UserColumn: "UserId",
		Props: []PropMapping{
			{Name: "revenue", Column: "TotalCharges", Number: true},
			{Name: "note", Column: "Note"},
		},
		Now: fixedClock(),
	}
}

const ordersHeader = "OrderId,OrderDate,UserId,TotalCharges,Note\n"

func TestImportCSVEvents(t *testing.T) {
	input := ordersHeader +
		"1,2009-01-11,47,50.67,first\n" +
		"2,2009-01-20 18:30,48,\"$1,234.50\",\n" +
		"3,2009-02-03,47,,no revenue\n"
	w := newMemoryEvents()

	summary, err := ImportCSV(context.Background(), strings.NewReader(input), ordersOptions(), w)
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}

	want := CSVSummary{RowsRead: 3, Imported: 3}
	if fmt.Sprint(summary) != fmt.Sprint(want) {
		t.Errorf("summary = %+v, want %+v", summary, want)
	}
	if len(w.events) != 3 {
		t.Fatalf("stored %d events, want 3", len(w.events))
	}

	received := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	wantEvents := []store.Event{
		{Name: "order_placed", DistinctID: "47", Timestamp: time.Date(2009, 1, 11, 0, 0, 0, 0, time.UTC),
			Properties: map[string]any{"revenue": 50.67, "note": "first"}},
		{Name: "order_placed", DistinctID: "48", Timestamp: time.Date(2009, 1, 20, 18, 30, 0, 0, time.UTC),
			Properties: map[string]any{"revenue": 1234.5}},
		{Name: "order_placed", DistinctID: "47", Timestamp: time.Date(2009, 2, 3, 0, 0, 0, 0, time.UTC),
			Properties: map[string]any{"note": "no revenue"}},
	}
	for i, got := range w.events {
		want := wantEvents[i]
		if got.Name != want.Name || got.DistinctID != want.DistinctID || !got.Timestamp.Equal(want.Timestamp) {
			t.Errorf("event %d = %s/%s/%s, want %s/%s/%s", i, got.Name, got.DistinctID, got.Timestamp, want.Name, want.DistinctID, want.Timestamp)
		}
		if fmt.Sprint(got.Properties) != fmt.Sprint(want.Properties) {
			t.Errorf("event %d properties = %v, want %v", i, got.Properties, want.Properties)
		}
		if revenue, ok := got.Properties["revenue"]; ok {
			if _, isFloat := revenue.(float64); !isFloat {
				t.Errorf("event %d revenue is a %T, want float64", i, revenue)
			}
		}
		if got.Source != "csv" {
			t.Errorf("event %d source = %q, want csv", i, got.Source)
		}
		if wantPrefix := fmt.Sprintf("%016x", want.Timestamp.UnixMicro()); len(got.MessageID) != 48 || !strings.HasPrefix(got.MessageID, wantPrefix) {
			t.Errorf("event %d message ID = %q, want %s and 32 hex digits", i, got.MessageID, wantPrefix)
		}
		if !got.ReceivedAt.Equal(received) {
			t.Errorf("event %d received at %s, want %s", i, got.ReceivedAt, received)
		}
	}
	if w.events[0].MessageID == w.events[2].MessageID {
		t.Errorf("rows 1 and 3 share message ID %s", w.events[0].MessageID)
	}
}

func TestImportCSVTimeZoneWithDST(t *testing.T) {
	input := "when,who\n" +
		"2021-01-15 09:00,a\n" +
		"2021-07-15 09:00,b\n" +
		"2021-07-15T09:00:00Z,c\n"
	opts := CSVOptions{Event: "login", TimeColumn: "when", UserColumn: "who", Location: mustLoadLocation(t, "Europe/Berlin")}
	w := newMemoryEvents()

	if _, err := ImportCSV(context.Background(), strings.NewReader(input), opts, w); err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}

	want := []time.Time{
		time.Date(2021, 1, 15, 8, 0, 0, 0, time.UTC), // CET, UTC+1
		time.Date(2021, 7, 15, 7, 0, 0, 0, time.UTC), // CEST, UTC+2
		time.Date(2021, 7, 15, 9, 0, 0, 0, time.UTC), // the offset in the cell wins
	}
	for i, ev := range w.events {
		if !ev.Timestamp.Equal(want[i]) || ev.Timestamp.Location() != time.UTC {
			t.Errorf("event %d timestamp = %s, want %s", i, ev.Timestamp, want[i])
		}
	}
}

func TestImportCSVBadRowsWithLineNumbers(t *testing.T) {
	input := ordersHeader + // line 1
		"1,2009-01-11,47,50.67,ok\n" + // line 2
		"2,2009-01-12,48,\"1,234.50\",\"two\n" + // line 3, a note across two lines
		"lines\"\n" + // line 4
		"3,2009-13-45,49,10,bad date\n" + // line 5
		"4,2009-01-13,  ,10,no user\n" + // line 6
		"5,2009-01-14,50,ten,bad number\n" + // line 7
		"6,2009-01-15,51\n" + // line 8, too few fields
		"7,2009-01-16,52,$5,ok\n" + // line 9
		"8,2009-01-17,53,5,a \"quoted\" word\n" + // line 10, a bare quote
		"9,,54,5,no date\n" + // line 11
		"10,2009-01-18,55,\"12,5\",decimal comma\n" + // line 12
		"11,2009-01-19,56,7,ok\n" + // line 13
		"\"12\n\",2009-01-20,57,x,bad number\n" // line 14, an ID across two lines
	w := newMemoryEvents()

	summary, err := ImportCSV(context.Background(), strings.NewReader(input), ordersOptions(), w)
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}

	if summary.RowsRead != 12 {
		t.Errorf("RowsRead = %d, want 12", summary.RowsRead)
	}
	if summary.Imported != 4 {
		t.Errorf("Imported = %d, want 4", summary.Imported)
	}
	if summary.Skipped != 8 {
		t.Errorf("Skipped = %d, want 8", summary.Skipped)
	}

	wantBad := []struct {
		line   int
		reason string
	}{
		{5, `column "OrderDate": "2009-13-45" is not a valid date or time: month out of range`},
		{6, `column "UserId" is empty`},
		{7, `column "TotalCharges": "ten" is not a number (want a decimal`},
		{8, "has 3 fields, but the header has 5"},
		{10, `invalid CSV: bare " in non-quoted-field`},
		{11, `column "OrderDate" is empty`},
		{12, `column "TotalCharges": "12,5" is not a number`},
		{14, `column "TotalCharges": "x" is not a number`},
	}
	if len(summary.BadRows) != len(wantBad) {
		t.Fatalf("BadRows = %v, want %d rows", summary.BadRows, len(wantBad))
	}
	for i, want := range wantBad {
		got := summary.BadRows[i]
		if got.Line != want.line {
			t.Errorf("bad row %d line = %d, want %d (%s)", i, got.Line, want.line, got)
		}
		if !strings.Contains(got.Reason, want.reason) {
			t.Errorf("bad row %d reason = %q, want it to contain %q", i, got.Reason, want.reason)
		}
	}
	if got := summary.BadRows[0].Error(); !strings.HasPrefix(got, "line 5: ") {
		t.Errorf("RowError.Error() = %q, want the prefix %q", got, "line 5: ")
	}

	var users []string
	for _, ev := range w.events {
		users = append(users, ev.DistinctID)
	}
	if got := strings.Join(users, ","); got != "47,48,52,56" {
		t.Errorf("stored users %s, want 47,48,52,56", got)
	}
}

func TestImportCSVCapsReportedBadRows(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 25 {
		fmt.Fprintf(&b, "%d,not a date,47,1,\n", i)
	}
	b.WriteString("26,2009-01-11,47,1,\n")

	summary, err := ImportCSV(context.Background(), strings.NewReader(b.String()), ordersOptions(), newMemoryEvents())
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}

	if summary.Skipped != 25 {
		t.Errorf("Skipped = %d, want 25", summary.Skipped)
	}
	if len(summary.BadRows) != 20 {
		t.Errorf("len(BadRows) = %d, want 20", len(summary.BadRows))
	}
	if summary.Imported != 1 {
		t.Errorf("Imported = %d, want 1", summary.Imported)
	}
}

// nonSeekable hides the Seek method of the reader inside it.
type nonSeekable struct{ io.Reader }

func TestImportCSVStrictImportsNothing(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 12 {
		fmt.Fprintf(&b, "%d,2009-01-%02d,47,1,\n", i, i+1)
	}
	b.WriteString("99,2009-02-30,47,1,\n") // line 14
	b.WriteString("100,2009-03-01,47,1,\n")

	readers := map[string]func() io.Reader{
		"seekable":     func() io.Reader { return strings.NewReader(b.String()) },
		"not seekable": func() io.Reader { return nonSeekable{strings.NewReader(b.String())} },
	}
	for name, reader := range readers {
		t.Run(name, func(t *testing.T) {
			opts := ordersOptions()
			opts.Strict = true
			opts.BatchSize = 5
			w := newMemoryEvents()

			summary, err := ImportCSV(context.Background(), reader(), opts, w)
			if kpi.ErrorCode(err) != kpi.EINVALID {
				t.Fatalf("error = %v (code %q), want code %q", err, kpi.ErrorCode(err), kpi.EINVALID)
			}
			if !strings.Contains(err.Error(), `line 14: column "OrderDate": "2009-02-30" is not a valid date`) {
				t.Errorf("error = %q, want it to name line 14 and the date", err)
			}
			if !strings.Contains(err.Error(), "nothing was imported") {
				t.Errorf("error = %q, want it to say that nothing was imported", err)
			}
			if len(w.batchSizes) != 0 {
				t.Errorf("InsertEvents was called %d times, want 0", len(w.batchSizes))
			}
			if summary.Imported != 0 {
				t.Errorf("Imported = %d, want 0", summary.Imported)
			}
		})
	}
}

func TestImportCSVStrictImportsGoodFile(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 12 {
		fmt.Fprintf(&b, "%d,2009-01-%02d,%d,1,\n", i, i+1, i)
	}

	readers := map[string]func() io.Reader{
		"seekable":     func() io.Reader { return strings.NewReader(b.String()) },
		"not seekable": func() io.Reader { return nonSeekable{strings.NewReader(b.String())} },
	}
	for name, reader := range readers {
		t.Run(name, func(t *testing.T) {
			opts := ordersOptions()
			opts.Strict = true
			opts.BatchSize = 5
			w := newMemoryEvents()

			summary, err := ImportCSV(context.Background(), reader(), opts, w)
			if err != nil {
				t.Fatalf("ImportCSV: %v", err)
			}
			if summary.RowsRead != 12 || summary.Imported != 12 || summary.Skipped != 0 {
				t.Errorf("summary = %+v, want 12 rows read and imported", summary)
			}
			if got := fmt.Sprint(w.batchSizes); got != "[5 5 2]" {
				t.Errorf("batch sizes = %s, want [5 5 2]", got)
			}
		})
	}
}

func TestImportCSVMissingColumn(t *testing.T) {
	opts := ordersOptions()
	opts.TimeColumn = "Order Date"
	opts.Props = append(opts.Props, PropMapping{Name: "pickup", Column: "PickupDate"})
	w := newMemoryEvents()

	_, err := ImportCSV(context.Background(), strings.NewReader(ordersHeader+"1,2009-01-11,47,5,\n"), opts, w)
	if kpi.ErrorCode(err) != kpi.EINVALID {
		t.Fatalf("error = %v (code %q), want code %q", err, kpi.ErrorCode(err), kpi.EINVALID)
	}

	msg := err.Error()
	for _, want := range []string{
		`time column "Order Date" is not in the header`,
		`column of property "pickup", "PickupDate" is not in the header`,
		`5 columns: "OrderId", "OrderDate", "UserId", "TotalCharges", "Note"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error = %q, want it to contain %q", msg, want)
		}
	}
	if len(w.batchSizes) != 0 {
		t.Errorf("InsertEvents was called %d times, want 0", len(w.batchSizes))
	}
}

func TestImportCSVColumnMatching(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantError string // "" when the import must succeed
	}{
		{"exact", "OrderDate,UserId\n2009-01-11,47\n", ""},
		{"case and spaces ignored", "\uFEFF orderdate ,USERID\n2009-01-11,47\n", ""},
		{"exact wins over folded", "orderdate,OrderDate,UserId\nnot a date,2009-01-11,47\n", ""},
		{"exact twice", "OrderDate,OrderDate,UserId\n2009-01-11,2009-01-11,47\n", `time column "OrderDate" appears 2 times in the header`},
		{"folded twice", "orderdate,ORDERDATE,UserId\n2009-01-11,2009-01-11,47\n", `time column "OrderDate" matches 2 columns when case is ignored`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := CSVOptions{Event: "order_placed", TimeColumn: "OrderDate", UserColumn: "UserId"}
			w := newMemoryEvents()

			summary, err := ImportCSV(context.Background(), strings.NewReader(tt.input), opts, w)
			if tt.wantError == "" {
				if err != nil {
					t.Fatalf("ImportCSV: %v", err)
				}
				if summary.Imported != 1 {
					t.Errorf("Imported = %d, want 1", summary.Imported)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantError)
			}
		})
	}
}

func TestImportCSVEmptyInput(t *testing.T) {
	_, err := ImportCSV(context.Background(), strings.NewReader(""), ordersOptions(), newMemoryEvents())
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), "empty") {
		t.Errorf("error = %v, want an %q error saying the input is empty", err, kpi.EINVALID)
	}
}

func TestImportCSVInvalidOptions(t *testing.T) {
	opts := ordersOptions()
	opts.Event = ""
	opts.Props = append(opts.Props, PropMapping{Name: "revenue", Column: "OrderId"})

	_, err := ImportCSV(context.Background(), strings.NewReader(ordersHeader), opts, newMemoryEvents())
	if kpi.ErrorCode(err) != kpi.EINVALID {
		t.Fatalf("error = %v, want code %q", err, kpi.EINVALID)
	}
	for _, want := range []string{"the event name is missing", `property "revenue" is mapped twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
}

func TestImportCSVDuplicates(t *testing.T) {
	original := ordersHeader +
		"1,2009-01-11,47,5,\n" +
		"1,2009-01-11,47,5,\n" + // an identical row is a second order, not a duplicate
		"2,2009-01-12,48,6,\n"
	appended := original +
		"1,2009-01-11,47,5,\n" + // a third identical row
		"3,2009-01-13,49,7,\n"
	w := newMemoryEvents()
	ctx := context.Background()

	first, err := ImportCSV(ctx, strings.NewReader(original), ordersOptions(), w)
	if err != nil {
		t.Fatalf("first import: %v", err)
	}
	if first.Imported != 3 || first.Duplicates != 0 {
		t.Errorf("first import = %+v, want 3 imported and 0 duplicates", first)
	}

	again, err := ImportCSV(ctx, strings.NewReader(original), ordersOptions(), w)
	if err != nil {
		t.Fatalf("second import: %v", err)
	}
	if again.RowsRead != 3 || again.Imported != 0 || again.Duplicates != 3 {
		t.Errorf("second import = %+v, want 3 rows read, 0 imported and 3 duplicates", again)
	}

	grown, err := ImportCSV(ctx, strings.NewReader(appended), ordersOptions(), w)
	if err != nil {
		t.Fatalf("import with appended rows: %v", err)
	}
	if grown.RowsRead != 5 || grown.Imported != 2 || grown.Duplicates != 3 {
		t.Errorf("import with appended rows = %+v, want 5 rows read, 2 imported and 3 duplicates", grown)
	}

	otherEvent := ordersOptions()
	otherEvent.Event = "order_refunded"
	other, err := ImportCSV(ctx, strings.NewReader(original), otherEvent, w)
	if err != nil {
		t.Fatalf("import as another event: %v", err)
	}
	if other.Imported != 3 {
		t.Errorf("import as another event imported %d, want 3", other.Imported)
	}

	if len(w.events) != 8 {
		t.Errorf("stored %d events, want 8", len(w.events))
	}
}

func TestImportCSVBatches(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 11 {
		fmt.Fprintf(&b, "%d,2009-01-11,%d,1,\n", i, i)
	}
	opts := ordersOptions()
	opts.BatchSize = 4
	w := newMemoryEvents()

	summary, err := ImportCSV(context.Background(), strings.NewReader(b.String()), opts, w)
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}
	if got := fmt.Sprint(w.batchSizes); got != "[4 4 3]" {
		t.Errorf("batch sizes = %s, want [4 4 3]", got)
	}
	if summary.Imported != 11 {
		t.Errorf("Imported = %d, want 11", summary.Imported)
	}
}

func TestImportCSVWriterError(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 10 {
		fmt.Fprintf(&b, "%d,2009-01-11,%d,1,\n", i, i)
	}
	opts := ordersOptions()
	opts.BatchSize = 4
	w := newMemoryEvents()
	w.failAfter = 1

	summary, err := ImportCSV(context.Background(), strings.NewReader(b.String()), opts, w)
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("error = %v, want %v", err, errDiskFull)
	}
	if !strings.Contains(err.Error(), "line 9") {
		t.Errorf("error = %q, want it to name line 9, the last row of the failed batch", err)
	}
	if summary.Imported != 4 {
		t.Errorf("Imported = %d, want 4 from the first batch", summary.Imported)
	}
}

func TestImportCSVCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := ImportCSV(ctx, strings.NewReader(ordersHeader+"1,2009-01-11,47,5,\n"), ordersOptions(), newMemoryEvents())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// steppingClock returns a clock that advances by step on every reading.
func steppingClock(step time.Duration) func() time.Time {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

func TestImportCSVProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 30 {
		fmt.Fprintf(&b, "%d,2009-01-11,%d,1,\n", i, i)
	}
	var progress bytes.Buffer
	opts := ordersOptions()
	opts.Progress = &progress
	opts.Now = steppingClock(time.Second) // each row takes a second

	if _, err := ImportCSV(context.Background(), strings.NewReader(b.String()), opts, newMemoryEvents()); err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}

	out := progress.String()
	if !strings.Contains(out, "\rimporting: ") {
		t.Errorf("progress output %q has no importing line", out)
	}
	if want := "\rdone: 30 rows read, 30 imported, 0 duplicates, 0 skipped\033[K\n"; !strings.HasSuffix(out, want) {
		t.Errorf("progress output ends %q, want %q", out[max(0, len(out)-80):], want)
	}
}

func TestProgressLineTiming(t *testing.T) {
	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	now := start
	var out bytes.Buffer
	p := newProgressLine(&out, func() time.Time { return now })
	summary := &CSVSummary{RowsRead: 7, Imported: 5}

	steps := []struct {
		at       time.Duration
		wantLine bool
	}{
		{1 * time.Second, false}, // too early
		{1999 * time.Millisecond, false},
		{2 * time.Second, true},
		{2200 * time.Millisecond, false}, // within 500 ms of the last line
		{2499 * time.Millisecond, false},
		{2500 * time.Millisecond, true},
		{4 * time.Second, true},
	}
	for _, s := range steps {
		now = start.Add(s.at)
		out.Reset()
		p.update("importing", summary)
		if got := out.Len() > 0; got != s.wantLine {
			t.Errorf("update at %s wrote %q, want a line: %v", s.at, out.String(), s.wantLine)
		}
	}

	out.Reset()
	p.finish(summary, nil)
	if want := "\rdone: 7 rows read, 5 imported, 0 duplicates, 0 skipped\033[K\n"; out.String() != want {
		t.Errorf("finish wrote %q, want %q", out.String(), want)
	}
}

func TestProgressLineQuietForShortImports(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	p := newProgressLine(&out, func() time.Time { return now })

	now = now.Add(time.Second)
	p.update("importing", &CSVSummary{RowsRead: 1})
	p.finish(&CSVSummary{RowsRead: 1}, nil)

	if out.Len() != 0 {
		t.Errorf("progress of a 1 s import wrote %q, want nothing", out.String())
	}
}

func TestPropMappingUnknownType(t *testing.T) {
	_, err := ParsePropMapping("revenue=TotalCharges:float")
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), `type "float" is not known`) {
		t.Errorf("error = %v, want an invalid-type error naming float", err)
	}
	m, err := ParsePropMapping("ratio=Time:UTC")
	if err != nil || m.Column != "Time:UTC" || m.Number {
		t.Errorf("a column name with a colon = %+v, %v; want text column Time:UTC", m, err)
	}
}

func TestImportCSVUnclosedQuote(t *testing.T) {
	src := "OrderDate,UserId\n2009-01-01,a\n\"2009-01-02,b\n2009-01-03,c\n2009-01-04,d\n"
	w := newMemoryEvents()

	sum, err := ImportCSV(context.Background(), strings.NewReader(src), CSVOptions{Event: "o", TimeColumn: "OrderDate", UserColumn: "UserId"}, w)
	if err != nil {
		t.Fatal(err)
	}

	if sum.Imported != 1 || sum.Skipped != 1 {
		t.Errorf("imported %d, skipped %d; want 1 and 1", sum.Imported, sum.Skipped)
	}
	if len(sum.BadRows) != 1 || sum.BadRows[0].Line != 3 || !strings.Contains(sum.BadRows[0].Reason, "lines 3 to 5 were read as one row") {
		t.Errorf("bad rows = %+v, want line 3 saying lines 3 to 5 were read as one row", sum.BadRows)
	}
}

// TestImportCSVMessageIDByHand rebuilds the message IDs of two identical
// rows from their definition: the time in Unix microseconds as 16 hex
// digits, then the first 16 bytes of SHA-256(SHA-256(fields) || occurrence),
// where fields are the event name and the cells, each after its length.
func TestImportCSVMessageIDByHand(t *testing.T) {
	input := "when,who\n2024-03-01T10:00:00Z,u1\n2024-03-01T10:00:00Z,u1\n"
	w := newMemoryEvents()
	opts := CSVOptions{Event: "visit", TimeColumn: "when", UserColumn: "who", Now: fixedClock()}
	if _, err := ImportCSV(context.Background(), strings.NewReader(input), opts, w); err != nil {
		t.Fatal(err)
	}
	if len(w.events) != 2 {
		t.Fatalf("stored %d events, want 2", len(w.events))
	}

	// 1709287200 s after the epoch is 2024-03-01T10:00:00Z.
	const timePrefix = "0006129670600800"
	if got := fmt.Sprintf("%016x", int64(1709287200_000_000)); got != timePrefix {
		t.Fatalf("time prefix = %s, want %s", got, timePrefix)
	}
	// Each field is written after its length as one uvarint byte.
	fields := []byte("\x05visit\x142024-03-01T10:00:00Z\x02u1")
	rowKey := sha256.Sum256(fields)
	for occurrence, got := range []string{w.events[0].MessageID, w.events[1].MessageID} {
		sum := sha256.Sum256(append(rowKey[:], 0, 0, 0, byte(occurrence+1)))
		want := timePrefix + hex.EncodeToString(sum[:16])
		if got != want {
			t.Errorf("occurrence %d message ID = %s, want %s", occurrence+1, got, want)
		}
	}
}

// Migration 00012 turns a stored ID of the form next returns into the form
// of nextEvent by putting the time in front and keeping 32 hex digits. Both
// forms must agree for every occurrence, or re-imports after the migration
// store rows twice.
func TestEventIDExtendsRowID(t *testing.T) {
	var oldIDs, newIDs rowIDs
	oldIDs.reset()
	newIDs.reset()
	ts := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	record := []string{"1969-12-31 23:59:59", "u1"}

	for occurrence := 1; occurrence <= 3; occurrence++ {
		old := oldIDs.next("visit", record)
		got := newIDs.nextEvent(ts.UnixMicro(), "visit", record)
		want := fmt.Sprintf("%016x", uint64(ts.UnixMicro())) + old[:32]
		if got != want {
			t.Errorf("occurrence %d: nextEvent = %s, want %s", occurrence, got, want)
		}
	}
}

// A message ID starts with the time as written in the cell. A re-import in
// another time zone thus gives rows without an offset the IDs they had, so
// the store skips them, although their instants differ. A cell with an
// offset reads the same in every zone.
func TestImportCSVMessageIDIgnoresTimeZone(t *testing.T) {
	input := "when,who\n2024-03-01 10:00:00,u1\n2024-03-01T10:00:00+02:00,u2\n"
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	imported := map[string][]store.Event{}
	for _, loc := range []*time.Location{time.UTC, newYork} {
		w := newMemoryEvents()
		opts := CSVOptions{Event: "visit", TimeColumn: "when", UserColumn: "who", Location: loc, Now: fixedClock()}
		if _, err := ImportCSV(context.Background(), strings.NewReader(input), opts, w); err != nil {
			t.Fatal(err)
		}
		if len(w.events) != 2 {
			t.Fatalf("%s: stored %d events, want 2", loc, len(w.events))
		}
		imported[loc.String()] = w.events
	}
	utc, ny := imported["UTC"], imported["America/New_York"]

	// 2024-03-01 10:00 as if UTC is 1709287200 s after the epoch, and New
	// York is 5 hours behind UTC on 1 March (standard time).
	const wallPrefix = "0006129670600800"
	for i := range 2 {
		if utc[i].MessageID != ny[i].MessageID {
			t.Errorf("row %d: ID %s in UTC but %s in New York", i+1, utc[i].MessageID, ny[i].MessageID)
		}
		if !strings.HasPrefix(utc[i].MessageID, wallPrefix) {
			t.Errorf("row %d: ID %s, want it to start with %s", i+1, utc[i].MessageID, wallPrefix)
		}
	}
	if want := time.Date(2024, 3, 1, 15, 0, 0, 0, time.UTC); !ny[0].Timestamp.Equal(want) {
		t.Errorf("row 1 in New York at %s, want %s", ny[0].Timestamp, want)
	}
	wantOffset := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	if !utc[1].Timestamp.Equal(wantOffset) {
		t.Errorf("row 2 in UTC at %s, want %s", utc[1].Timestamp, wantOffset)
	}
	if !ny[1].Timestamp.Equal(wantOffset) {
		t.Errorf("row 2 in New York at %s, want %s", ny[1].Timestamp, wantOffset)
	}
	if loc := utc[0].Timestamp.Location(); loc != time.UTC {
		t.Errorf("stored timestamp in %s, want UTC", loc)
	}
}
