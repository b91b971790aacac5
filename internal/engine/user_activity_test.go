package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// activityKPIs define the user activity KPIs of these tests, in New York time
// with weeks from Monday.
const activityKPIs = `workspace:
  name: Activity
  time_zone: America/New_York
  week_start: monday
kpis:
  - id: active_any_7d
    name: Active users on any event, rolling 7 days
    metric: {kind: active_users, window: 7}
  - id: active_7d
    name: Visitors, rolling 7 days
    metric: {kind: active_users, event: visit, window: 7}
  - id: active_30d
    name: Visitors, rolling 30 days
    metric: {kind: active_users, event: visit, window: 30}
  - id: dau
    name: Daily visitors
    metric: {kind: active_users, event: visit, window: 1}
  - id: weekly_uniques
    name: Weekly unique visitors
    metric: {kind: unique_users, event: visit}
  - id: stickiness
    name: Stickiness
    unit: "%"
    metric: {kind: stickiness, event: visit}
  - id: churn
    name: Visitor churn
    unit: "%"
    direction: down
    metric: {kind: churn, event: visit}
  - id: churn_relative
    name: Visitor churn without a percent unit
    direction: down
    metric: {kind: churn, event: visit}
  - id: new_visitors
    name: New visitors
    metric: {kind: new_users, event: visit}
`

// activityEvent is one event of a test, at a New York wall-clock time.
type activityEvent struct {
	user  string
	name  string
	at    string // "2006-01-02 15:04", New York time
	props map[string]any
}

// openActivityEngine stores events in a fresh database and returns an engine
// with the clock at now, and the definitions parsed from kpis.
func openActivityEngine(t *testing.T, kpis string, now time.Time, events []activityEvent) (*Engine, *kpi.Definitions, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("activity.yaml", []byte(kpis))
	if err != nil {
		t.Fatalf("parse KPIs: %v", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })

	stored := make([]store.Event, len(events))
	for i, e := range events {
		stored[i] = store.Event{
			Name: e.name, DistinctID: e.user, Timestamp: ny(t, e.at), Properties: e.props,
			Source: "test", MessageID: fmt.Sprint("event-", i),
		}
	}
	for len(stored) > 0 {
		n := min(len(stored), 2000)
		if _, err := db.InsertEvents(ctx, stored[:n]); err != nil {
			t.Fatalf("insert events: %v", err)
		}
		stored = stored[n:]
	}
	return New(db, func() time.Time { return now }), defs, db
}

func TestActiveUsersRollingHandCount(t *testing.T) {
	// bob's visit at 23:30 on Jan 3 is on Jan 4 in UTC, so a window bucketed
	// in UTC would still hold him on Jan 10. The signup only counts for the
	// KPI on any event.
	events := []activityEvent{
		{"alice", "visit", "2026-01-01 10:00", nil},
		{"bob", "visit", "2026-01-03 23:30", nil},
		{"carol", "visit", "2026-01-08 00:30", nil},
		{"alice", "visit", "2026-01-08 12:00", nil},
		{"dave", "signup", "2026-01-09 12:00", nil},
	}
	e, defs, _ := openActivityEngine(t, activityKPIs, farFuture, events)

	// Windows: Jan 7 covers Jan 1-7, Jan 8 covers Jan 2-8, and so on.
	visitors := series(t, e, defs, "active_7d", timegrain.Day, "2026-01-07", "2026-01-10")
	checkValues(t, visitors, []want{
		{"2026-01-07 00:00", v(2)}, // alice, bob
		{"2026-01-08 00:00", v(3)}, // bob, carol, alice
		{"2026-01-09 00:00", v(3)}, // bob, carol, alice
		{"2026-01-10 00:00", v(2)}, // carol, alice
	})
	checkFloat(t, "Jan 7 previous (Jan 6, window Dec 31 to Jan 6)", visitors.Points[0].Previous, v(2))

	anyEvent := series(t, e, defs, "active_any_7d", timegrain.Day, "2026-01-09", "2026-01-10")
	checkValues(t, anyEvent, []want{
		{"2026-01-09 00:00", v(4)}, // dave's signup counts too
		{"2026-01-10 00:00", v(3)},
	})
}

// generatedVisits returns visits by 25 users over January to March 2026,
// from a fixed seed, and the set of users who visited on each New York date.
// About one visit in eight falls between 23:00 and 23:59, where New York and
// UTC dates differ.
func generatedVisits() ([]activityEvent, map[string]map[string]bool) {
	rng := rand.New(rand.NewPCG(7, 11))
	var events []activityEvent
	byDate := map[string]map[string]bool{}

	for day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); day.Month() <= time.March; day = day.AddDate(0, 0, 1) {
		for u := range 25 {
			// Users 0-4 visit most days, the others now and then.
			chance := 0.15
			if u < 5 {
				chance = 0.8
			}
			if rng.Float64() >= chance {
				continue
			}
			hour := rng.IntN(23)
			if rng.IntN(8) == 0 {
				hour = 23
			}
			user := fmt.Sprintf("user%02d", u)
			date := day.Format(time.DateOnly)
			events = append(events, activityEvent{user, "visit", fmt.Sprintf("%s %02d:%02d", date, hour, rng.IntN(60)), nil})
			if byDate[date] == nil {
				byDate[date] = map[string]bool{}
			}
			byDate[date][user] = true
		}
	}
	return events, byDate
}

// usersInDates counts the distinct users of byDate on the dates from first
// to last, inclusive, by plain date arithmetic.
func usersInDates(byDate map[string]map[string]bool, first, last time.Time) int {
	users := map[string]bool{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		for u := range byDate[d.Format(time.DateOnly)] {
			users[u] = true
		}
	}
	return len(users)
}

func TestActiveUsersRollingGenerated(t *testing.T) {
	events, byDate := generatedVisits()
	e, defs, _ := openActivityEngine(t, activityKPIs, farFuture, events)

	// February and March: the 30-day windows reach back into January, and
	// March 8 is the DST change.
	for _, tt := range []struct {
		id     string
		window int
	}{{"active_7d", 7}, {"active_30d", 30}, {"dau", 1}} {
		t.Run(tt.id, func(t *testing.T) {
			s := series(t, e, defs, tt.id, timegrain.Day, "2026-02-01", "2026-03-31")

			var wants []want
			for d := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC); d.Month() <= time.March; d = d.AddDate(0, 0, 1) {
				count := usersInDates(byDate, d.AddDate(0, 0, 1-tt.window), d)
				wants = append(wants, want{d.Format(time.DateOnly) + " 00:00", v(float64(count))})
			}
			checkValues(t, s, wants)
		})
	}
}

func TestActiveUsersWeekNotSumOfDays(t *testing.T) {
	events, byDate := generatedVisits()
	e, defs, _ := openActivityEngine(t, activityKPIs, farFuture, events)

	weekly := series(t, e, defs, "active_7d", timegrain.Week, "2026-02-02", "2026-03-01")
	uniques := series(t, e, defs, "weekly_uniques", timegrain.Week, "2026-02-02", "2026-03-01")
	daily := series(t, e, defs, "dau", timegrain.Day, "2026-02-02", "2026-03-01")

	for w := range 4 {
		monday := time.Date(2026, 2, 2+7*w, 0, 0, 0, 0, time.UTC)
		want := float64(usersInDates(byDate, monday, monday.AddDate(0, 0, 6)))
		label := monday.Format(time.DateOnly)

		checkFloat(t, "rolling 7 days, week of "+label, weekly.Points[w].Value, &want)
		checkFloat(t, "unique_users, week of "+label, uniques.Points[w].Value, &want)

		sum := 0.0
		for d := range 7 {
			sum += *daily.Points[7*w+d].Value
		}
		if sum <= want {
			t.Errorf("week of %s: summed daily users %g should exceed the %g distinct users, as the same users visit on several days", label, sum, want)
		}
	}
}

func TestStickiness(t *testing.T) {
	var events []activityEvent
	// Week of Jan 5: the same ten users visit on each of the seven days.
	for d := range 7 {
		for u := range 10 {
			events = append(events, activityEvent{fmt.Sprint("loyal", u), "visit", fmt.Sprintf("2026-01-%02d %02d:15", 5+d, 8+u), nil})
		}
	}
	// Week of Jan 12: ten other users visit once each, on Monday to Wednesday
	// (4 + 4 + 2), and one of them also comes back on Sunday at 23:50.
	for u := range 10 {
		day := 12 + min(u/4, 2)
		if u == 9 {
			day = 14
		}
		events = append(events, activityEvent{fmt.Sprint("casual", u), "visit", fmt.Sprintf("2026-01-%02d 10:00", day), nil})
	}
	events = append(events, activityEvent{"casual0", "visit", "2026-01-18 23:50", nil})

	e, defs, _ := openActivityEngine(t, activityKPIs, farFuture, events)
	s := series(t, e, defs, "stickiness", timegrain.Week, "2026-01-05", "2026-01-25")

	// Week 2: daily visitors 4, 4, 2, 0, 0, 0, 1 = 11 over 7 days, for 10 users.
	checkValues(t, s, []want{
		{"2026-01-05 00:00", v(100)},
		{"2026-01-12 00:00", v(11.0 / 7 / 10 * 100)},
		{"2026-01-19 00:00", nil},
	})
	if got := s.Points[2].NoValueReason; got != "no active users in the period" {
		t.Errorf("empty week NoValueReason = %q", got)
	}
	checkFloat(t, "week 2 mean daily users", detail(s.Points[1], "mean_daily_users"), v(11.0/7))
	checkFloat(t, "week 2 users", detail(s.Points[1], "users"), v(10))
	checkFloat(t, "week 2 change in points", s.Points[1].Change, v(11.0/7/10*100-100))

	// January as a month: 70 + 11 daily visits over 31 days, for 20 users.
	month := series(t, e, defs, "stickiness", timegrain.Month, "2026-01-01", "2026-01-31")
	checkValues(t, month, []want{{"2026-01-01 00:00", v(81.0 / 31 / 20 * 100)}})
}

// detail returns a point's detail, or nil when it has none.
func detail(p Point, name string) *float64 {
	d, ok := p.Details[name]
	if !ok {
		return nil
	}
	return &d
}

func TestChurnPointsAndPercent(t *testing.T) {
	var events []activityEvent
	visit := func(user, at string) { events = append(events, activityEvent{user, "visit", at, nil}) }

	// January: a, b, c, d. February: a, b, c (d churned: 1 of 4 = 25 %) and
	// e to i. March: a, b, e, f (c, g, h, i churned: 4 of 8 = 50 %).
	for _, u := range []string{"a", "b", "c", "d"} {
		visit(u, "2026-01-10 12:00")
	}
	for _, u := range []string{"a", "b", "c", "e", "f", "g", "h", "i"} {
		visit(u, "2026-02-10 12:00")
	}
	for _, u := range []string{"a", "b", "e", "f"} {
		visit(u, "2026-03-10 12:00")
	}
	// d visits at 23:30 on Jan 31 in New York, which is February in UTC.
	visit("d", "2026-01-31 23:30")

	e, defs, _ := openActivityEngine(t, activityKPIs, farFuture, events)

	s := series(t, e, defs, "churn", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, s, []want{
		{"2026-01-01 00:00", nil},
		{"2026-02-01 00:00", v(25)},
		{"2026-03-01 00:00", v(50)},
	})
	if got := s.Points[0].NoValueReason; got != "no active users in the previous period" {
		t.Errorf("January NoValueReason = %q", got)
	}
	if s.ChangeUnit != "pp" {
		t.Errorf("ChangeUnit = %q, want pp", s.ChangeUnit)
	}
	checkFloat(t, "March change in points", s.Points[2].Change, v(25))
	checkFloat(t, "March previous users", detail(s.Points[2], "previous_users"), v(8))
	checkFloat(t, "March churned users", detail(s.Points[2], "churned_users"), v(4))

	relative := series(t, e, defs, "churn_relative", timegrain.Month, "2026-02-01", "2026-03-31")
	if relative.ChangeUnit != "%" {
		t.Errorf("ChangeUnit without a percent unit = %q, want %%", relative.ChangeUnit)
	}
	checkFloat(t, "March relative change", relative.Points[1].Change, v(100))
}

func TestNewUsersPartialMonth(t *testing.T) {
	// The clock stops at 15:00 on March 10, so March to date is compared
	// with February 1 00:00 to February 10 15:00.
	events := []activityEvent{
		{"old", "visit", "2026-01-20 09:00", nil},
		{"x", "visit", "2026-02-03 09:00", nil},
		{"y", "visit", "2026-02-10 14:00", nil},
		{"z", "visit", "2026-02-10 16:00", nil}, // after the compared span
		{"w", "visit", "2026-02-20 09:00", nil},
		{"old", "visit", "2026-03-02 09:00", nil}, // back, not new
		{"p", "visit", "2026-03-02 10:00", nil},
		{"r", "visit", "2026-03-05 10:00", nil},
		{"q", "visit", "2026-03-10 14:59", nil},
		{"x", "visit", "2026-03-10 11:00", nil},
	}
	now := ny(t, "2026-03-10 15:00")
	e, defs, _ := openActivityEngine(t, activityKPIs, now, events)

	s := series(t, e, defs, "new_visitors", timegrain.Month, "2026-01-01", "2026-03-10")
	checkValues(t, s, []want{
		{"2026-01-01 00:00", v(1)},
		{"2026-02-01 00:00", v(4)},
		{"2026-03-01 00:00", v(3)},
	})
	march := s.Points[2]
	if !march.Partial {
		t.Fatal("March is not partial")
	}
	checkFloat(t, "March previous (Feb 1 to Feb 10 15:00)", march.Previous, v(2))
	checkFloat(t, "March change", march.Change, v(50))

	// Churn of March to date compares with the same span of February: x and
	// y were active then, and only x is back so far.
	churn := series(t, e, defs, "churn", timegrain.Month, "2026-03-01", "2026-03-10")
	checkValues(t, churn, []want{{"2026-03-01 00:00", v(50)}})
}

func TestActiveUsersWarnsOnUnknownEvent(t *testing.T) {
	events := []activityEvent{{"alice", "visit", "2026-01-05 10:00", nil}}
	kpis := activityKPIs + `  - id: typo
    name: Misspelled event
    metric: {kind: active_users, event: vist, window: 7}
`
	e, defs, _ := openActivityEngine(t, kpis, farFuture, events)

	s := series(t, e, defs, "typo", timegrain.Day, "2026-01-05", "2026-01-05")

	if len(s.Warnings) != 1 || s.Warnings[0] != `no "vist" events in this range, and none in the database (known events: visit)` {
		t.Errorf("warnings = %q", s.Warnings)
	}
	checkValues(t, s, []want{{"2026-01-05 00:00", v(0)}})
}
