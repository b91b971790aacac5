package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// eofSignal is an io.Reader that closes done once the reader under it
// returns io.EOF, that is once the CSV reader has parsed every row.
type eofSignal struct {
	r    io.Reader
	once sync.Once
	done chan struct{}
}

func newEOFSignal(r io.Reader) *eofSignal { return &eofSignal{r: r, done: make(chan struct{})} }

func (s *eofSignal) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if errors.Is(err, io.EOF) {
		s.once.Do(func() { close(s.done) })
	}
	return n, err
}

// hookedEvents is an EventWriter that stores into memoryEvents and runs
// before, if set, ahead of each call with the call's number from 1.
type hookedEvents struct {
	memory *memoryEvents
	before func(call int) error
	calls  int
}

func (h *hookedEvents) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	h.calls++
	if h.before != nil {
		if err := h.before(h.calls); err != nil {
			return store.InsertResult{}, err
		}
	}
	return h.memory.InsertEvents(ctx, events)
}

// storedUsers returns the user IDs of the stored events in the order they
// were stored. The tests below give each row its own user ID, so this is
// the order of the rows.
func storedUsers(m *memoryEvents) string {
	users := make([]string, 0, len(m.events))
	for _, ev := range m.events {
		users = append(users, ev.DistinctID)
	}
	return strings.Join(users, " ")
}

// TestImportCSVInsertErrorMidFile fails the second of three batches while
// the reader has already read the rest of the file, bad rows included. The
// result must be that of an import that stops at the failed batch.
func TestImportCSVInsertErrorMidFile(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 8 { // lines 2 to 9: batches of lines 2–5 and 6–9
		fmt.Fprintf(&b, "%d,2009-01-11,u%d,1,\n", i, i)
	}
	b.WriteString("8,2009-02-30,u8,1,\n")   // line 10: bad date
	b.WriteString("9,2009-01-11,u9,1,\n")   // line 11
	b.WriteString("10,2009-01-11\n")        // line 12: 2 fields
	b.WriteString("11,2009-01-11,u11,1,\n") // line 13
	input := newEOFSignal(strings.NewReader(b.String()))

	readAhead := false
	w := &hookedEvents{memory: newMemoryEvents(), before: func(call int) error {
		if call != 2 {
			return nil
		}
		// The insert goroutine holds the second batch until the reader has
		// read the whole file. The timeout only keeps an import that does
		// not read ahead from hanging the test.
		select {
		case <-input.done:
			readAhead = true
		case <-time.After(5 * time.Second):
		}
		return errDiskFull
	}}
	opts := ordersOptions()
	opts.BatchSize = 4

	summary, err := ImportCSV(context.Background(), input, opts, w)

	if !readAhead {
		t.Error("the reader did not read the rest of the file during the second insert, so the import is not pipelined")
	}
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("error = %v, want %v", err, errDiskFull)
	}
	if want := "store the rows up to line 9: disk full"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if w.calls != 2 {
		t.Errorf("InsertEvents was called %d times, want 2 (no call after the failed one)", w.calls)
	}
	if got, want := storedUsers(w.memory), "u0 u1 u2 u3"; got != want {
		t.Errorf("stored users = %q, want %q", got, want)
	}
	if summary.RowsRead != 8 {
		t.Errorf("RowsRead = %d, want 8, the rows up to the failed batch", summary.RowsRead)
	}
	if summary.Imported != 4 {
		t.Errorf("Imported = %d, want 4 from the first batch", summary.Imported)
	}
	if summary.Skipped != 0 {
		t.Errorf("Skipped = %d, want 0, because the bad rows come after the failed batch", summary.Skipped)
	}
	if len(summary.BadRows) != 0 {
		t.Errorf("BadRows = %v, want none", summary.BadRows)
	}
}

// TestImportCSVPipelinedOrderAndCounts imports several batches with bad rows
// between them and checks the file order of the stored events and every
// count of the summary.
func TestImportCSVPipelinedOrderAndCounts(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	var want []string
	for i := range 23 { // lines 2 to 24
		if i%5 == 3 { // lines 5, 10, 15, 20
			fmt.Fprintf(&b, "%d,not a date,u%d,1,\n", i, i)
			continue
		}
		fmt.Fprintf(&b, "%d,2009-01-11,u%d,1,\n", i, i)
		want = append(want, fmt.Sprintf("u%d", i))
	}
	b.WriteString("0,2009-01-11,u0,1,\n") // line 25: the same cells as line 2, so a second occurrence with its own ID

	m := newMemoryEvents()
	opts := ordersOptions()
	opts.BatchSize = 3

	summary, err := ImportCSV(context.Background(), strings.NewReader(b.String()), opts, m)
	if err != nil {
		t.Fatalf("ImportCSV: %v", err)
	}
	want = append(want, "u0")
	if got := storedUsers(m); got != strings.Join(want, " ") {
		t.Errorf("stored users = %q, want %q", got, strings.Join(want, " "))
	}
	if got := fmt.Sprint(m.batchSizes); got != "[3 3 3 3 3 3 2]" {
		t.Errorf("batch sizes = %s, want [3 3 3 3 3 3 2]", got)
	}
	if summary.RowsRead != 24 {
		t.Errorf("RowsRead = %d, want 24", summary.RowsRead)
	}
	if summary.Imported != 20 {
		t.Errorf("Imported = %d, want 20", summary.Imported)
	}
	if summary.Duplicates != 0 {
		t.Errorf("Duplicates = %d, want 0", summary.Duplicates)
	}
	if summary.Skipped != 4 {
		t.Errorf("Skipped = %d, want 4", summary.Skipped)
	}
	var lines []int
	for _, row := range summary.BadRows {
		lines = append(lines, row.Line)
	}
	if got := fmt.Sprint(lines); got != "[5 10 15 20]" {
		t.Errorf("bad row lines = %s, want [5 10 15 20]", got)
	}
}

// changingInput is a seekable input whose content becomes after when it is
// rewound with io.SeekStart.
type changingInput struct {
	*strings.Reader
	after string
}

func (c *changingInput) Seek(offset int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		c.Reader = strings.NewReader(c.after)
	}
	return c.Reader.Seek(offset, whence)
}

// TestImportCSVStrictRowChangedAfterCheck checks a file that passes the
// strict check and has a bad row at line 12 when it is read again. The
// import stores the two full batches before that row and no row after it.
func TestImportCSVStrictRowChangedAfterCheck(t *testing.T) {
	var good, changed strings.Builder
	good.WriteString(ordersHeader)
	changed.WriteString(ordersHeader)
	for i := range 14 { // lines 2 to 15
		fmt.Fprintf(&good, "%d,2009-01-11,u%d,1,\n", i, i)
		if i == 10 { // line 12
			fmt.Fprintf(&changed, "%d,2009-02-30,u%d,1,\n", i, i)
			continue
		}
		fmt.Fprintf(&changed, "%d,2009-01-11,u%d,1,\n", i, i)
	}
	input := &changingInput{Reader: strings.NewReader(good.String()), after: changed.String()}

	m := newMemoryEvents()
	opts := ordersOptions()
	opts.Strict = true
	opts.BatchSize = 4

	summary, err := ImportCSV(context.Background(), input, opts, m)
	if kpi.ErrorCode(err) != kpi.EINVALID {
		t.Fatalf("error = %v (code %q), want code %q", err, kpi.ErrorCode(err), kpi.EINVALID)
	}
	if !strings.Contains(err.Error(), "line 12:") {
		t.Errorf("error = %q, want it to name line 12", err)
	}
	if !strings.Contains(err.Error(), "stopped after 8 rows were imported") {
		t.Errorf("error = %q, want it to say that 8 rows were imported", err)
	}
	if got, want := storedUsers(m), "u0 u1 u2 u3 u4 u5 u6 u7"; got != want {
		t.Errorf("stored users = %q, want %q", got, want)
	}
	if summary.Imported != 8 {
		t.Errorf("Imported = %d, want 8", summary.Imported)
	}
}

// TestImportCSVCanceledMidFile cancels the import during its second insert,
// which still succeeds. The summary counts exactly the stored events, and
// no batch is stored after the cancel.
func TestImportCSVCanceledMidFile(t *testing.T) {
	var b strings.Builder
	b.WriteString(ordersHeader)
	for i := range 20 {
		fmt.Fprintf(&b, "%d,2009-01-11,u%d,1,\n", i, i)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &hookedEvents{memory: newMemoryEvents(), before: func(call int) error {
		if call == 2 {
			cancel()
		}
		return nil
	}}
	opts := ordersOptions()
	opts.BatchSize = 4

	summary, err := ImportCSV(ctx, strings.NewReader(b.String()), opts, w)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if w.calls != 2 {
		t.Errorf("InsertEvents was called %d times, want 2 (none after the cancel)", w.calls)
	}
	if got, want := storedUsers(w.memory), "u0 u1 u2 u3 u4 u5 u6 u7"; got != want {
		t.Errorf("stored users = %q, want %q", got, want)
	}
	if summary.Imported != 8 {
		t.Errorf("Imported = %d, want 8, the events stored before the cancel", summary.Imported)
	}
}
