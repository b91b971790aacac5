package ingest

import (
	"context"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func eventColumnOptions() CSVOptions {
	return CSVOptions{EventColumn: "event", TimeColumn: "ts", UserColumn: "user", Now: fixedClock()}
}

func TestImportCSVEventColumn(t *testing.T) {
	input := "event,ts,user\n" +
		"signup,2025-01-01T10:00:00Z,u1\n" +
		" purchase ,2025-01-01T11:00:00Z,u1\n" +
		",2025-01-01T12:00:00Z,u2\n"
	w := newMemoryEvents()

	sum, err := ImportCSV(context.Background(), strings.NewReader(input), eventColumnOptions(), w)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 2 || sum.Skipped != 1 {
		t.Fatalf("imported %d, skipped %d, want 2 and 1", sum.Imported, sum.Skipped)
	}
	if got := w.events[0].Name; got != "signup" {
		t.Errorf("first event name = %q, want signup", got)
	}
	if got := w.events[1].Name; got != "purchase" {
		t.Errorf("second event name = %q, want purchase without the spaces", got)
	}
	if want := `line 4: column "event" is empty, but it must hold the event name`; sum.BadRows[0].Error() != want {
		t.Errorf("bad row = %q, want %q", sum.BadRows[0].Error(), want)
	}
}

func TestImportCSVEventColumnNameInMessageID(t *testing.T) {
	// Two rows with the same cells apart from the event name are two events.
	input := "event,ts,user\n" +
		"a,2025-01-01T10:00:00Z,u1\n" +
		"b,2025-01-01T10:00:00Z,u1\n"
	w := newMemoryEvents()

	if _, err := ImportCSV(context.Background(), strings.NewReader(input), eventColumnOptions(), w); err != nil {
		t.Fatal(err)
	}
	if len(w.events) != 2 || w.events[0].MessageID == w.events[1].MessageID {
		t.Fatalf("events = %+v, want 2 with different message IDs", w.events)
	}
}

func TestImportCSVEventColumnMissing(t *testing.T) {
	input := "name,ts,user\nsignup,2025-01-01,u1\n"
	_, err := ImportCSV(context.Background(), strings.NewReader(input), eventColumnOptions(), newMemoryEvents())
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), `event column "event" is not in the header`) {
		t.Errorf("error = %v, want a kpi.EINVALID error naming the event column", err)
	}
}

func TestImportCSVEventAndEventColumn(t *testing.T) {
	opts := eventColumnOptions()
	opts.Event = "signup"
	_, err := ImportCSV(context.Background(), strings.NewReader("event,ts,user\n"), opts, newMemoryEvents())
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), "give one") {
		t.Errorf("error = %v, want a kpi.EINVALID error about both options", err)
	}

	opts = eventColumnOptions()
	opts.EventColumn = ""
	_, err = ImportCSV(context.Background(), strings.NewReader("event,ts,user\n"), opts, newMemoryEvents())
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), "the event name is missing") {
		t.Errorf("error = %v, want a kpi.EINVALID error about the missing event", err)
	}
}
