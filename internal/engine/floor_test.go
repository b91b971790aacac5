package engine

import (
	"context"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/floor"
	"github.com/northstar-kpi/northstar/internal/gen"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// TestFloorMatchesEngine checks that the bare-bitmap floor of Q1 to Q4
// (package floor) returns the engine's results for the KPIs of
// bench/kpis.yaml on the same generated events, so that the floor's times
// are times of the same work.
func TestFloorMatchesEngine(t *testing.T) {
	ctx := context.Background()
	opts := gen.Options{Events: 60_000, Users: 3_000, Days: 365, Seed: 1}

	var events []store.Event
	_, err := gen.Each(opts, func(day int, evs []gen.Event) error {
		midnight := gen.DefaultStart.AddDate(0, 0, day)
		for _, e := range evs {
			events = append(events, store.Event{
				Name: e.Name, DistinctID: "u" + strconv.Itoa(int(e.User)+1),
				Timestamp: midnight.Add(time.Duration(e.Second) * time.Second),
				Source:    "gen", MessageID: "e" + strconv.Itoa(len(events)),
			})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("generate events: %v", err)
	}
	db := openIndexDB(t, filepath.Join(t.TempDir(), "floor.db"), events)
	defs, err := kpi.LoadFile("../../bench/kpis.yaml")
	if err != nil {
		t.Fatalf("load bench/kpis.yaml: %v", err)
	}
	ix := NewActivityIndex(db, time.UTC, DeclaredFor(defs), nil)
	if err := ix.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild the index: %v", err)
	}
	now := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	eng := NewWithIndex(db, ix, func() time.Time { return now })
	last := gen.DefaultStart.AddDate(0, 0, opts.Days-1)
	r := Range{From: timegrain.DateOf(gen.DefaultStart), To: timegrain.DateOf(last)}

	days, _, err := floor.Build(opts)
	if err != nil {
		t.Fatalf("build the floor's bitmaps: %v", err)
	}

	t.Run("Q1 daily active users", func(t *testing.T) {
		checkFloorDaily(t, eng, defs, "dau", r, floor.DailyActive(days))
	})
	t.Run("Q2 rolling 30-day active users", func(t *testing.T) {
		checkFloorDaily(t, eng, defs, "mau_rolling", r, floor.RollingActive(days, 30))
	})

	t.Run("Q3 monthly cohorts", func(t *testing.T) {
		table, err := eng.Cohorts(ctx, defs, "retention_month_1", r)
		if err != nil {
			t.Fatal(err)
		}
		want := floor.MonthlyCohorts(days, gen.EventSignup)
		if len(table.Cohorts) != len(want) {
			t.Fatalf("engine has %d cohorts, floor %d", len(table.Cohorts), len(want))
		}
		for i, row := range table.Cohorts {
			w := want[i]
			if !row.Start.Equal(w.Month) || row.Size != int64(w.Size) || len(row.Retained) != len(w.Back) {
				t.Errorf("cohort %d: engine %s size %d with %d periods, floor %s size %d with %d periods",
					i, row.Start.Format("2006-01"), row.Size, len(row.Retained), w.Month.Format("2006-01"), w.Size, len(w.Back))
				continue
			}
			for k, c := range row.Retained {
				if c.Users != int64(w.Back[k]) {
					t.Errorf("cohort %s, month %d: engine %d users back, floor %d", w.Month.Format("2006-01"), k, c.Users, w.Back[k])
				}
			}
		}
	})

	t.Run("Q4 funnel by week", func(t *testing.T) {
		steps := []string{gen.EventSignup, gen.EventActivate, gen.EventPurchase}
		s, err := eng.Series(ctx, defs, "signup_to_purchase", timegrain.Week, r)
		if err != nil {
			t.Fatal(err)
		}
		want := floor.Funnel(days, steps, 7)
		if len(s.Points) != len(want) {
			t.Fatalf("engine has %d weeks, floor %d", len(s.Points), len(want))
		}

		// The store's path reads the raw events, so it also checks the
		// index's walk over users with consecutive IDs, which these
		// time-ordered events give.
		sql, err := New(db, func() time.Time { return now }).Series(ctx, defs, "signup_to_purchase", timegrain.Week, r)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range sql.Points {
			if i < len(s.Points) && funnelCounts(p) != funnelCounts(s.Points[i]) {
				t.Errorf("week of %s: store [entered completed in-progress] = %v, index %v",
					p.Start.Format(time.DateOnly), funnelCounts(p), funnelCounts(s.Points[i]))
			}
		}

		if sweep := floor.FunnelSweep(days, steps, 7); !reflect.DeepEqual(sweep, want) {
			t.Errorf("floor.FunnelSweep = %v, floor.Funnel %v", sweep, want)
		}

		completed := 0
		for i, p := range s.Points {
			w := want[i]
			if !p.Start.Equal(w.Week) && !(i == 0 && p.Start.Equal(gen.DefaultStart)) {
				t.Errorf("week %d starts on %s in the engine, %s in the floor", i, p.Start.Format(time.DateOnly), w.Week.Format(time.DateOnly))
			}
			floorCounts := [3]int{w.Entered, w.Completed, w.InProgress}
			if got := funnelCounts(p); got != floorCounts {
				t.Errorf("week of %s: engine [entered completed in-progress] = %v, floor %v",
					w.Week.Format(time.DateOnly), got, floorCounts)
			}
			completed += w.Completed
		}
		if completed == 0 {
			t.Error("no user completed the funnel, so the check proves little; use more events")
		}
	})
}

// funnelCounts returns the entered, completed and in-progress counts of a
// funnel KPI's point.
func funnelCounts(p Point) [3]int {
	return [3]int{int(p.Details["entered"]), int(p.Details["completed"]), int(p.Details["in_progress"])}
}

func checkFloorDaily(t *testing.T, eng *Engine, defs *kpi.Definitions, id string, r Range, want []int) {
	t.Helper()
	s, err := eng.Series(context.Background(), defs, id, timegrain.Day, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != len(want) {
		t.Fatalf("engine has %d days, floor %d", len(s.Points), len(want))
	}
	for i, p := range s.Points {
		got := 0
		if p.Value != nil {
			got = int(*p.Value)
		}
		if got != want[i] {
			t.Errorf("%s: engine %d users, floor %d", p.Start.Format(time.DateOnly), got, want[i])
		}
	}
}
