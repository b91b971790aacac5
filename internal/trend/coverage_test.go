package trend

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// firstEventDay is the day of the first stored event in newMidYearEngine.
var firstEventDay = time.Date(2025, time.July, 16, 0, 0, 0, 0, time.UTC)

// newMidYearEngine returns an engine over a fresh SQLite database holding one
// purchase of amount 10 on each day from 2025-07-16 to 2026-08-09, with the
// clock at noon on 2026-08-10.
func newMidYearEngine(t *testing.T) (*engine.Engine, *kpi.Definitions) {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.Parse("kpis.yaml", []byte(`workspace: {name: Acme}
kpis:
  - id: revenue
    name: Revenue
    grain: month
    metric: {kind: sum, event: purchase, property: amount}
`))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var events []store.Event
	last := time.Date(2026, time.August, 9, 0, 0, 0, 0, time.UTC)
	for at := firstEventDay; !at.After(last); at = at.AddDate(0, 0, 1) {
		events = append(events, store.Event{
			Name: "purchase", DistinctID: fmt.Sprint("u", len(events)), Timestamp: at.Add(9 * time.Hour),
			Properties: map[string]any{"amount": 10}, Source: "test", MessageID: fmt.Sprint(len(events)),
		})
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, time.August, 10, 12, 0, 0, 0, time.UTC)
	return engine.New(db, func() time.Time { return now }), defs
}

func computeRange(t *testing.T, eng *engine.Engine, defs *kpi.Definitions, g timegrain.Grain, from, to string) *Trend {
	t.Helper()
	ctx := context.Background()
	k, _ := defs.KPI("revenue")
	fromDate, _ := timegrain.ParseDate(from)
	toDate, _ := timegrain.ParseDate(to)
	series, err := eng.Series(ctx, defs, "revenue", g, engine.Range{From: fromDate, To: toDate})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Compute(ctx, eng, defs, k, series, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func hasNote(notes []string, prefix, date string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n, prefix) && strings.Contains(n, date) {
			return true
		}
	}
	return false
}

func TestYearAgoMonthPartlyCovered(t *testing.T) {
	eng, defs := newMidYearEngine(t)
	tr := computeRange(t, eng, defs, timegrain.Month, "2026-01-01", "2026-07-31")

	// July 2025 holds only the 16 days from the 16th: 160 against July
	// 2026's 310 would read as +94 %.
	if tr.YearOverYear != nil {
		t.Errorf("year over year = %+v, want none: July 2025 is only partly covered", tr.YearOverYear)
	}
	if !hasNote(tr.Notes, "no year-over-year change:", "2025-07-16") {
		t.Errorf("notes = %q, want one saying the data starts on 2025-07-16", tr.Notes)
	}

	// July 2026 (31 days × 10) against June 2026 (30 days × 10).
	c := tr.Change
	if c == nil {
		t.Fatalf("change = nil, notes %q", tr.Notes)
	}
	if c.Current != 310 || c.Previous != 300 {
		t.Errorf("change = %+v, want 300 → 310", c)
	}
}

func TestChangeFromPeriodBeforeData(t *testing.T) {
	eng, defs := newMidYearEngine(t)

	// June 2025 has no events and July 2025 only half of them, so August's
	// change from July and its change from a year before have no value.
	tr := computeRange(t, eng, defs, timegrain.Month, "2025-06-01", "2025-08-31")
	if tr.Change != nil {
		t.Errorf("change = %+v, want none: July 2025 is only partly covered", tr.Change)
	}
	if !hasNote(tr.Notes, "no change:", "2025-07-16") {
		t.Errorf("notes = %q, want one saying the data starts on 2025-07-16", tr.Notes)
	}
	if tr.YearOverYear != nil {
		t.Errorf("year over year = %+v, want none: August 2024 has no data", tr.YearOverYear)
	}
	if !hasNote(tr.Notes, "no year-over-year change:", "2025-07-16") {
		t.Errorf("notes = %q, want one saying the data starts on 2025-07-16", tr.Notes)
	}

	// The latest complete month is July 2025, which is partly covered, and
	// the month before it has no events at all.
	tr = computeRange(t, eng, defs, timegrain.Month, "2025-05-01", "2025-07-31")
	if tr.Change != nil {
		t.Errorf("change = %+v, want none before the data starts", tr.Change)
	}
}

func TestYearAgoDayCoverage(t *testing.T) {
	eng, defs := newMidYearEngine(t)

	// 364 days before 2026-07-10 is 2025-07-11, five days before the first
	// event: no value, not 0.
	tr := computeRange(t, eng, defs, timegrain.Day, "2026-07-01", "2026-07-10")
	if tr.YearOverYear != nil {
		t.Errorf("year over year = %+v, want none: 2025-07-11 is before the data", tr.YearOverYear)
	}
	if !hasNote(tr.Notes, "no year-over-year change:", "2025-07-16") {
		t.Errorf("notes = %q, want one saying the data starts on 2025-07-16", tr.Notes)
	}

	// 364 days before 2026-07-20 is 2025-07-21, inside the data: 10 → 10.
	tr = computeRange(t, eng, defs, timegrain.Day, "2026-07-11", "2026-07-20")
	c := tr.YearOverYear
	if c == nil {
		t.Fatalf("year over year = nil, notes %q", tr.Notes)
	}
	if want := time.Date(2025, time.July, 21, 0, 0, 0, 0, time.UTC); !c.PreviousStart.Equal(want) || c.Previous != 10 || c.Current != 10 {
		t.Errorf("year over year = %+v, want 2025-07-21 at 10 against 10", c)
	}
}
