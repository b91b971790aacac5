package report

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

const grainKPIFile = `workspace: {name: Acme, time_zone: UTC, week_start: monday}
kpis:
  - id: wau
    name: Weekly active users
    grain: week
    metric: {kind: unique_users, event: active}
  - id: mau
    name: Monthly active users
    grain: month
    metric: {kind: unique_users, event: active}
`

// activeUsersEngine returns an engine over a fresh SQLite database with
// these "active" events (June 2026 starts on a Monday, the week start):
//
//	week of 2026-06-01: u1 u2 u3 u4 u5
//	week of 2026-06-08: u1 u2
//	week of 2026-06-15: u6 u7 u8 u9
//	week of 2026-06-22: u1 u2 u3
//
// So the week of 2026-06-22 has 3 active users and June up to the 28th has 9.
func activeUsersEngine(t *testing.T) *engine.Engine {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var events []store.Event
	for _, w := range []struct {
		day   int
		users []int
	}{{2, []int{1, 2, 3, 4, 5}}, {9, []int{1, 2}}, {16, []int{6, 7, 8, 9}}, {23, []int{1, 2, 3}}} {
		for _, u := range w.users {
			events = append(events, store.Event{Name: "active", DistinctID: fmt.Sprintf("u%d", u),
				Timestamp: time.Date(2026, 6, w.day, 10, 0, 0, 0, time.UTC), Source: "test", MessageID: fmt.Sprintf("%d-%d", w.day, u)})
		}
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 29, 9, 0, 0, 0, time.UTC)
	return engine.New(db, func() time.Time { return now })
}

func currentValue(t *testing.T, it Item) float64 {
	t.Helper()
	p := it.Series.Current()
	if p == nil || p.Value == nil {
		t.Fatalf("kpi %s has no current value", it.KPI.ID)
	}
	return *p.Value
}

func TestCollectItemsOwnGrain(t *testing.T) {
	defs, err := kpi.Parse("kpis.yaml", []byte(grainKPIFile))
	if err != nil {
		t.Fatal(err)
	}
	eng := activeUsersEngine(t)
	june := engine.Range{From: timegrain.Date{Year: 2026, Month: 6, Day: 1}, To: timegrain.Date{Year: 2026, Month: 6, Day: 28}}

	items, err := CollectItems(context.Background(), eng, defs, []string{"wau", "mau"}, "", june)
	if err != nil {
		t.Fatal(err)
	}
	if g := items[0].Series.Grain; g != timegrain.Week {
		t.Errorf("wau grain = %s, want week", g)
	}
	if v := currentValue(t, items[0]); v != 3 {
		t.Errorf("wau current value = %g, want 3 (u1 u2 u3 in the week of 2026-06-22)", v)
	}
	if v := currentValue(t, items[1]); v != 9 {
		t.Errorf("mau current value = %g, want 9 (u1 to u9 in June)", v)
	}

	doc, err := Digest(context.Background(), DigestInput{GeneratedAt: time.Date(2026, 6, 29, 9, 0, 0, 0, time.UTC), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc.Text, "Grain:") {
		t.Errorf("digest notes a grain although each KPI is at its own:\n%s", doc.Text)
	}
}

func TestCollectItemsExplicitGrainNoted(t *testing.T) {
	defs, err := kpi.Parse("kpis.yaml", []byte(grainKPIFile))
	if err != nil {
		t.Fatal(err)
	}
	eng := activeUsersEngine(t)
	june := engine.Range{From: timegrain.Date{Year: 2026, Month: 6, Day: 1}, To: timegrain.Date{Year: 2026, Month: 6, Day: 28}}

	items, err := CollectItems(context.Background(), eng, defs, []string{"wau"}, timegrain.Month, june)
	if err != nil {
		t.Fatal(err)
	}
	if v := currentValue(t, items[0]); v != 9 {
		t.Errorf("wau by month current value = %g, want 9 (u1 to u9 in June)", v)
	}
	doc, err := Digest(context.Background(), DigestInput{GeneratedAt: time.Date(2026, 6, 29, 9, 0, 0, 0, time.UTC), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Grain:           computed by month as requested; the KPI's own grain is week"; !strings.Contains(doc.Text, want) {
		t.Errorf("digest text lacks %q:\n%s", want, doc.Text)
	}
}
