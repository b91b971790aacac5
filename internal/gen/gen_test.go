package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/ingest"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// testOptions is a data set small enough for a unit test but big enough for
// the skew and decay to show: 20 events per user on average.
func testOptions(format string) Options {
	return Options{Events: 60_000, Users: 3_000, Days: 120, Seed: 7, Format: format}
}

func generate(t *testing.T, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(&buf, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// row is one parsed CSV row.
type row struct {
	event, user, plan, country, amount string
	ts                                 time.Time
}

func parseRows(t *testing.T, data []byte) []row {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(header, ",") + "\n"; got != CSVHeader {
		t.Fatalf("header = %q, want %q", got, CSVHeader)
	}

	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339, rec[2])
		if err != nil {
			t.Fatalf("row %d: timestamp: %v", len(rows)+1, err)
		}
		rows = append(rows, row{event: rec[0], user: rec[1], ts: ts, plan: rec[3], country: rec[4], amount: rec[5]})
	}
}

func TestWriteDeterministic(t *testing.T) {
	opts := testOptions(FormatCSV)
	first := generate(t, opts)
	second := generate(t, opts)
	if !bytes.Equal(first, second) {
		t.Error("two runs with the same options wrote different bytes")
	}

	opts.Seed++
	if other := generate(t, opts); bytes.Equal(first, other) {
		t.Error("another seed wrote the same bytes")
	}
}

func TestWriteCounts(t *testing.T) {
	opts := testOptions(FormatCSV)
	rows := parseRows(t, generate(t, opts))

	if len(rows) != opts.Events {
		t.Errorf("rows = %d, want %d", len(rows), opts.Events)
	}
	users := map[string]bool{}
	names := map[string]bool{}
	for _, r := range rows {
		users[r.user] = true
		names[r.event] = true
	}
	if len(users) != opts.Users {
		t.Errorf("distinct users = %d, want %d", len(users), opts.Users)
	}
	if len(names) != 50 {
		t.Errorf("distinct event names = %d, want 50", len(names))
	}

	start := DefaultStart
	end := start.AddDate(0, 0, opts.Days)
	for i, r := range rows {
		if r.ts.Before(start) || !r.ts.Before(end) {
			t.Fatalf("row %d: timestamp %s is outside [%s, %s)", i+1, r.ts, start, end)
		}
		if i > 0 && r.ts.Before(rows[i-1].ts) {
			t.Fatalf("row %d: timestamp %s is before the previous row's %s", i+1, r.ts, rows[i-1].ts)
		}
	}
}

func TestWriteOneSignupFirst(t *testing.T) {
	rows := parseRows(t, generate(t, testOptions(FormatCSV)))

	signups := map[string]int{}
	for i, r := range rows {
		if r.event == EventSignup {
			signups[r.user]++
			continue
		}
		if signups[r.user] == 0 {
			t.Fatalf("row %d: user %s sends %s before their signup", i+1, r.user, r.event)
		}
	}
	for user, n := range signups {
		if n != 1 {
			t.Errorf("user %s has %d signup events, want 1", user, n)
		}
	}
}

func TestWriteSkew(t *testing.T) {
	rows := parseRows(t, generate(t, testOptions(FormatCSV)))

	counts := map[string]int{}
	for _, r := range rows {
		counts[r.event]++
	}
	var sorted []int
	for _, n := range counts {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	slices.Reverse(sorted)

	top5 := 0
	for _, n := range sorted[:5] {
		top5 += n
	}
	if share := float64(top5) / float64(len(rows)); share < 0.45 {
		t.Errorf("the 5 most frequent names carry %.2f of events, want at least 0.45", share)
	}
	if rarest := sorted[len(sorted)-1]; float64(rarest) > 0.005*float64(len(rows)) {
		t.Errorf("the rarest name has %d of %d events, want under 0.5%%", rarest, len(rows))
	}
}

func TestWriteActivityDecays(t *testing.T) {
	rows := parseRows(t, generate(t, testOptions(FormatCSV)))

	// Active (user, day) pairs by days since the user's signup.
	firstDay := map[string]time.Time{}
	active := map[string]bool{}
	byAge := map[int]int{}
	for _, r := range rows {
		day := r.ts.Truncate(24 * time.Hour)
		if r.event == EventSignup {
			firstDay[r.user] = day
		}
		key := r.user + "/" + day.String()
		if active[key] {
			continue
		}
		active[key] = true
		byAge[int(day.Sub(firstDay[r.user])/(24*time.Hour))]++
	}

	// Users who signed up early enough to be seen 60 days later.
	if byAge[1] <= 2*byAge[30] {
		t.Errorf("active users 1 day after signup = %d, want more than twice the %d at 30 days", byAge[1], byAge[30])
	}
	if byAge[60] == 0 {
		t.Error("no user is active 60 days after signup, want a floor of long-run activity")
	}
}

func TestWritePurchaseAmounts(t *testing.T) {
	rows := parseRows(t, generate(t, testOptions(FormatCSV)))

	purchases := 0
	for i, r := range rows {
		switch {
		case r.event == EventPurchase && r.amount == "":
			t.Fatalf("row %d: purchase without an amount", i+1)
		case r.event != EventPurchase && r.amount != "":
			t.Fatalf("row %d: %s has amount %q, want none", i+1, r.event, r.amount)
		case r.plan == "" || r.country == "":
			t.Fatalf("row %d: plan %q, country %q, want both set", i+1, r.plan, r.country)
		}
		if r.event == EventPurchase {
			purchases++
		}
	}
	if purchases == 0 {
		t.Error("no purchase events")
	}
}

func TestWriteInvalidOptions(t *testing.T) {
	valid := testOptions(FormatCSV)
	tests := map[string]func(*Options){
		"no users":                func(o *Options) { o.Users = 0 },
		"fewer events than users": func(o *Options) { o.Events = o.Users - 1 },
		"no days":                 func(o *Options) { o.Days = 0 },
		"too many days":           func(o *Options) { o.Days = MaxDays + 1 },
		"unknown format":          func(o *Options) { o.Format = "parquet" },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			opts := valid
			change(&opts)
			_, err := Write(io.Discard, opts)
			if kpi.ErrorCode(err) != kpi.EINVALID {
				t.Errorf("error = %v, want a kpi.EINVALID error", err)
			}
		})
	}
}

// recordingWriter is an ingest.EventWriter that keeps the events it gets.
type recordingWriter struct{ events []store.Event }

func (w *recordingWriter) InsertEvents(_ context.Context, events []store.Event) (store.InsertResult, error) {
	w.events = append(w.events, events...)
	return store.InsertResult{Inserted: len(events)}, nil
}

func TestCSVImportsEveryRow(t *testing.T) {
	opts := testOptions(FormatCSV)
	data := generate(t, opts)
	want := parseRows(t, data)

	w := &recordingWriter{}
	sum, err := ingest.ImportCSV(context.Background(), bytes.NewReader(data), ingest.CSVOptions{
		EventColumn: "event",
		TimeColumn:  "timestamp",
		UserColumn:  "distinct_id",
		Props: []ingest.PropMapping{
			{Name: "plan", Column: "plan"},
			{Name: "country", Column: "country"},
			{Name: "amount", Column: "amount", Number: true},
		},
	}, w)
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}
	if sum.Skipped != 0 || sum.Imported != opts.Events {
		t.Fatalf("imported %d, skipped %d (first: %v), want %d and 0", sum.Imported, sum.Skipped, sum.BadRows, opts.Events)
	}

	for i, e := range w.events {
		if e.Name != want[i].event || e.DistinctID != want[i].user || !e.Timestamp.Equal(want[i].ts) {
			t.Fatalf("event %d = %s %s %s, want %s %s %s", i, e.Name, e.DistinctID, e.Timestamp, want[i].event, want[i].user, want[i].ts)
		}
		if _, has := e.Properties["amount"]; has != (e.Name == EventPurchase) {
			t.Fatalf("event %d (%s): amount set = %t", i, e.Name, has)
		}
	}
}

func TestNDJSONDecodesEveryLine(t *testing.T) {
	csvRows := parseRows(t, generate(t, testOptions(FormatCSV)))
	data := generate(t, testOptions(FormatNDJSON))

	// The native endpoint takes at most 2,500 events per request.
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
	}
	if len(lines) != len(csvRows) {
		t.Fatalf("NDJSON lines = %d, CSV rows = %d, want equal", len(lines), len(csvRows))
	}

	ids := map[string]bool{}
	for start := 0; start < len(lines); start += 500 {
		chunk := lines[start:min(start+500, len(lines))]
		batch, err := ingest.DecodeNativeEvents(bytes.Join(chunk, []byte("\n")), true, ingest.DecodeOptions{ReceivedAt: time.Now()})
		if err != nil {
			t.Fatalf("lines %d+: %v", start+1, err)
		}
		if len(batch.Errors) > 0 {
			t.Fatalf("lines %d+: %d rejected, the first: %v", start+1, len(batch.Errors), batch.Errors[0])
		}
		for i, e := range batch.Events {
			want := csvRows[start+i]
			if e.Name != want.event || e.DistinctID != want.user || !e.Timestamp.Equal(want.ts) || e.Properties["plan"] != want.plan {
				t.Fatalf("line %d = %s %s %s %v, want the CSV row %+v", start+i+1, e.Name, e.DistinctID, e.Timestamp, e.Properties, want)
			}
			if ids[e.MessageID] {
				t.Fatalf("line %d: message_id %q repeats", start+i+1, e.MessageID)
			}
			ids[e.MessageID] = true
		}
	}
}

func TestEachMatchesWrite(t *testing.T) {
	opts := testOptions(FormatCSV)
	rows := parseRows(t, generate(t, opts))

	var events []row
	sum, err := Each(opts, func(day int, evs []Event) error {
		date := DefaultStart.AddDate(0, 0, day)
		for _, e := range evs {
			amount := ""
			if e.Amount > 0 {
				amount = strconv.Itoa(e.Amount)
			}
			events = append(events, row{event: e.Name, user: "u" + strconv.Itoa(int(e.User)+1),
				ts: date.Add(time.Duration(e.Second) * time.Second), amount: amount})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	if sum.Events != opts.Events || sum.Users != opts.Users {
		t.Errorf("summary = %+v, want %d events of %d users", sum, opts.Events, opts.Users)
	}
	if len(events) != len(rows) {
		t.Fatalf("Each passed %d events, Write wrote %d rows", len(events), len(rows))
	}
	for i, r := range rows {
		r.plan, r.country = "", ""
		if events[i] != r {
			t.Fatalf("event %d = %+v, want the row %+v", i+1, events[i], r)
		}
	}
}

func TestEachRejectsInvalidOptions(t *testing.T) {
	opts := testOptions("")
	opts.Users = 0
	_, err := Each(opts, func(int, []Event) error { return nil })
	if kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("Each with 0 users: error = %v, want an invalid-options error", err)
	}
}
