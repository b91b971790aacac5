package demo

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// berlin returns midnight at the start of the given date in Europe/Berlin.
func berlin(t *testing.T, year int, month time.Month, day int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("load Europe/Berlin: %v", err)
	}
	return time.Date(year, month, day, 0, 0, 0, 0, loc)
}

var (
	yearOnce   sync.Once
	yearEvents []store.Event
)

// yearEnd is the end of the year of events that most tests share.
func yearEnd(t *testing.T) time.Time { return berlin(t, 2026, time.December, 4) }

// generateYear returns Generate(1, 365, yearEnd), computed once per test run
// because it takes about a second.
func generateYear(t *testing.T) []store.Event {
	end := yearEnd(t)
	yearOnce.Do(func() { yearEvents = Generate(1, 365, end) })
	return yearEvents
}

func TestEndIsMidnightInBerlin(t *testing.T) {
	cases := []struct {
		now  time.Time
		want time.Time
	}{
		{time.Date(2026, 12, 4, 20, 51, 0, 0, time.UTC), berlin(t, 2026, time.December, 4)},
		// 23:30 UTC is 00:30 on the next day in Berlin (UTC+1 in winter).
		{time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC), berlin(t, 2026, time.December, 5)},
		// 22:30 UTC is 00:30 in Berlin in summer (UTC+2).
		{time.Date(2026, 7, 1, 22, 30, 0, 0, time.UTC), berlin(t, 2026, time.July, 2)},
	}
	for _, c := range cases {
		if got := End(c.now); !got.Equal(c.want) {
			t.Errorf("End(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestStartCountsCalendarDays(t *testing.T) {
	end := berlin(t, 2026, time.December, 4)
	if got, want := Start(365, end), berlin(t, 2025, time.December, 4); !got.Equal(want) {
		t.Errorf("Start(365, %s) = %s, want %s", end, got, want)
	}

	// An end that is not a midnight makes its own day the last day: 30 days
	// are Nov 5 to Dec 4.
	afternoon := end.Add(15*time.Hour + 30*time.Minute)
	if got, want := Start(30, afternoon), berlin(t, 2026, time.November, 5); !got.Equal(want) {
		t.Errorf("Start(30, %s) = %s, want %s", afternoon, got, want)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	end := berlin(t, 2026, time.December, 4)
	a := Generate(7, 90, end)
	b := Generate(7, 90, end)
	if len(a) == 0 {
		t.Fatal("Generate(7, 90) returned no events")
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with seed 7 returned different events")
	}

	c := Generate(8, 90, end)
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 7 and 8 returned the same events")
	}
	if len(c) > 0 && a[0].MessageID == c[0].MessageID {
		t.Errorf("seeds 7 and 8 share the message id %q", a[0].MessageID)
	}
}

func TestStreamMatchesGenerate(t *testing.T) {
	end := berlin(t, 2026, time.December, 4)
	var (
		streamed []store.Event
		batches  int
	)
	err := Stream(3, 20, end, func(events []store.Event) error {
		batches++
		streamed = append(streamed, events...)
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if batches != 20 {
		t.Errorf("Stream emitted %d batches for 20 days, want 20", batches)
	}
	if want := Generate(3, 20, end); !reflect.DeepEqual(streamed, want) {
		t.Errorf("Stream returned %d events that differ from Generate's %d", len(streamed), len(want))
	}
}

func TestStreamStopsAtEmitError(t *testing.T) {
	stop := errors.New("disk full")
	calls := 0
	err := Stream(1, 30, berlin(t, 2026, time.December, 4), func([]store.Event) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Stream returned %v, want the emit error", err)
	}
	if calls != 3 {
		t.Errorf("emit was called %d times, want 3", calls)
	}
}

func TestGenerateRejectsBadDays(t *testing.T) {
	for _, days := range []int{0, -1, MaxDays + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Generate(1, %d) did not panic", days)
				}
			}()
			Generate(1, days, berlin(t, 2026, time.December, 4))
		}()
	}
}

func TestGenerateVolume(t *testing.T) {
	events := generateYear(t)

	if n := len(events); n < 150_000 || n > 300_000 {
		t.Errorf("a year has %d events, want 150,000 to 300,000", n)
	}

	signups := 0
	for _, e := range events {
		if e.Name == "signup" {
			signups++
		}
	}
	if signups < 3000 || signups > 5000 {
		t.Errorf("a year has %d signups, want 3,000 to 5,000", signups)
	}
}

func TestGenerateEventsAreComplete(t *testing.T) {
	events := generateYear(t)
	start, end := Start(365, yearEnd(t)), yearEnd(t)
	names := []string{"signup", "session_start", "feature_used", "purchase", "subscription_started", "subscription_cancelled"}

	ids := map[string]bool{}
	for i, e := range events {
		switch {
		case !slices.Contains(names, e.Name):
			t.Fatalf("event %d has the unexpected name %q", i, e.Name)
		case e.DistinctID == "":
			t.Fatalf("event %d (%s) has no distinct_id", i, e.Name)
		case e.Timestamp.Before(start) || !e.Timestamp.Before(end):
			t.Fatalf("event %d (%s) at %s is outside [%s, %s)", i, e.Name, e.Timestamp, start, end)
		case e.Timestamp.Location() != time.UTC:
			t.Fatalf("event %d timestamp %s is not in UTC", i, e.Timestamp)
		case e.ReceivedAt.IsZero():
			t.Fatalf("event %d has no received_at", i)
		case e.Source != "demo":
			t.Fatalf("event %d has source %q, want demo", i, e.Source)
		case e.MessageID == "" || ids[e.MessageID]:
			t.Fatalf("event %d has the empty or repeated message id %q", i, e.MessageID)
		case i > 0 && e.Timestamp.Before(events[i-1].Timestamp):
			t.Fatalf("event %d at %s is before event %d at %s", i, e.Timestamp, i-1, events[i-1].Timestamp)
		}
		ids[e.MessageID] = true
	}

	// The data covers the whole range: its first and last days have events.
	if first := events[0].Timestamp; first.After(start.AddDate(0, 0, 1)) {
		t.Errorf("the first event is at %s, more than a day after the start %s", first, start)
	}
	if last := events[len(events)-1].Timestamp; last.Before(end.AddDate(0, 0, -1)) {
		t.Errorf("the last event is at %s, more than a day before the end %s", last, end)
	}
}

func TestGenerateProperties(t *testing.T) {
	events := generateYear(t)

	signedUp := map[string]bool{}
	amounts := map[string][]float64{} // subscription payments by plan
	for i, e := range events {
		switch e.Name {
		case "signup":
			if signedUp[e.DistinctID] {
				t.Fatalf("event %d: %s signs up twice", i, e.DistinctID)
			}
			signedUp[e.DistinctID] = true
			if plan := e.Properties["plan"]; !slices.Contains([]any{"free", "pro", "team"}, plan) {
				t.Fatalf("event %d: signup plan is %v, want free, pro or team", i, plan)
			}
			if country, _ := e.Properties["country"].(string); len(country) != 2 {
				t.Fatalf("event %d: signup country is %v, want a two-letter code", i, e.Properties["country"])
			}
		case "purchase":
			amount, ok := e.Properties["amount"].(float64)
			if !ok || amount <= 0 {
				t.Fatalf("event %d: purchase amount is %#v, want a positive number", i, e.Properties["amount"])
			}
			if e.Properties["item"] == "subscription" {
				plan, _ := e.Properties["plan"].(string)
				amounts[plan] = append(amounts[plan], amount)
			}
		}

		if !signedUp[e.DistinctID] {
			t.Fatalf("event %d: %s %s before signing up", i, e.DistinctID, e.Name)
		}
	}

	if mean(amounts["team"]) <= mean(amounts["pro"]) {
		t.Errorf("team subscriptions pay %.2f on average, pro %.2f; want team to pay more", mean(amounts["team"]), mean(amounts["pro"]))
	}
	for _, a := range amounts["pro"] {
		if a != 29 {
			t.Fatalf("a pro subscription payment is %v, want 29", a)
		}
	}
}

func mean(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values))
}

func TestGenerateSubscriptions(t *testing.T) {
	events := generateYear(t)
	counts := map[string]int{}
	for _, e := range events {
		counts[e.Name]++
	}

	started, cancelled := counts["subscription_started"], counts["subscription_cancelled"]
	if started == 0 || cancelled == 0 {
		t.Fatalf("%d subscriptions started and %d cancelled, want some of each", started, cancelled)
	}
	if cancelled >= started {
		t.Errorf("%d subscriptions cancelled, not fewer than the %d started", cancelled, started)
	}
	if started > len(events)/50 {
		t.Errorf("%d of %d events start a subscription, want a few (under 2%%)", started, len(events))
	}
}

func TestGenerateWeekdaysAreBusier(t *testing.T) {
	events := generateYear(t)
	loc := Location()

	sessions := map[bool]int{} // by whether the day is a weekend day
	days := map[bool]map[string]bool{true: {}, false: {}}
	for _, e := range events {
		if e.Name != "session_start" {
			continue
		}
		local := e.Timestamp.In(loc)
		weekend := local.Weekday() == time.Saturday || local.Weekday() == time.Sunday
		sessions[weekend]++
		days[weekend][local.Format(time.DateOnly)] = true
	}

	weekday := float64(sessions[false]) / float64(len(days[false]))
	weekend := float64(sessions[true]) / float64(len(days[true]))
	if weekday < 1.4*weekend {
		t.Errorf("%.0f sessions per weekday and %.0f per weekend day, want weekdays at least 1.4 times busier", weekday, weekend)
	}
}

func TestGenerateActivityDecaysAfterSignup(t *testing.T) {
	events := generateYear(t)
	cutoff := yearEnd(t).AddDate(0, 0, -40) // users who can be followed for 35 days

	signup := map[string]time.Time{}
	var firstWeek, fifthWeek int
	for _, e := range events {
		switch e.Name {
		case "signup":
			if e.Timestamp.Before(cutoff) {
				signup[e.DistinctID] = e.Timestamp
			}
		case "session_start":
			at, ok := signup[e.DistinctID]
			if !ok {
				continue
			}
			switch age := e.Timestamp.Sub(at); {
			case age < 7*24*time.Hour:
				firstWeek++
			case age >= 28*24*time.Hour && age < 35*24*time.Hour:
				fifthWeek++
			}
		}
	}

	if firstWeek < 2*fifthWeek {
		t.Errorf("%d sessions in the first week after signup and %d in the fifth, want at least twice as many in the first", firstWeek, fifthWeek)
	}
}

func TestGenerateSignupsGrow(t *testing.T) {
	events := generateYear(t)
	start, end := Start(365, yearEnd(t)), yearEnd(t)

	var early, late int
	for _, e := range events {
		if e.Name != "signup" {
			continue
		}
		switch {
		case e.Timestamp.Before(start.AddDate(0, 0, 91)):
			early++
		case !e.Timestamp.Before(end.AddDate(0, 0, -91)):
			late++
		}
	}
	// The rate triples over the year, so the last quarter has about 2.3 times
	// the signups of the first: 3^(273/365).
	if float64(late) < 1.8*float64(early) {
		t.Errorf("%d signups in the first 91 days and %d in the last 91, want at least 1.8 times as many at the end", early, late)
	}
}

func TestGenerateEndsMidDay(t *testing.T) {
	end := berlin(t, 2026, time.December, 4).Add(15*time.Hour + 30*time.Minute)
	events := Generate(2, 30, end)
	start := Start(30, end)

	sawLastDay := false
	for i, e := range events {
		if e.Timestamp.Before(start) || !e.Timestamp.Before(end) {
			t.Fatalf("event %d (%s) at %s is outside [%s, %s)", i, e.Name, e.Timestamp, start, end)
		}
		sawLastDay = sawLastDay || !e.Timestamp.Before(berlin(t, 2026, time.December, 4))
	}
	if !sawLastDay {
		t.Error("no event on the last day, which runs from midnight to 15:30")
	}
}

func TestEmbeddedKPIFileLoads(t *testing.T) {
	defs, err := kpi.Parse("kpis.yaml", EmbeddedKPIFile())
	if err != nil {
		t.Fatalf("parse the embedded KPI file: %v", err)
	}

	if got := defs.Workspace.Location.String(); got != "Europe/Berlin" {
		t.Errorf("time zone = %s, want Europe/Berlin", got)
	}
	if defs.Workspace.WeekStart != time.Monday {
		t.Errorf("week start = %s, want Monday", defs.Workspace.WeekStart)
	}

	var objectives []string
	for _, o := range defs.Objectives {
		objectives = append(objectives, o.ID)
	}
	if want := []string{"engagement", "revenue"}; !reflect.DeepEqual(objectives, want) {
		t.Errorf("objectives = %v, want %v", objectives, want)
	}

	wantKPIs := map[string]kpi.MetricKind{
		"weekly_active_users":       kpi.UniqueUsers,
		"monthly_active_users":      kpi.UniqueUsers,
		"purchases_per_active_user": kpi.Formula,
		"signups":                   kpi.Count,
		"pro_signups":               kpi.Count,
		"revenue":                   kpi.Sum,
		"average_order_value":       kpi.Formula,
	}
	if len(defs.KPIs) != len(wantKPIs) {
		t.Errorf("the file has %d KPIs, want %d", len(defs.KPIs), len(wantKPIs))
	}

	relative, absolute := 0, 0
	for _, k := range defs.KPIs {
		if kind, ok := wantKPIs[k.ID]; !ok || k.Metric.Kind != kind {
			t.Errorf("kpi %q has metric kind %q, want %q", k.ID, k.Metric.Kind, wantKPIs[k.ID])
		}
		if k.Owner == "" || k.Unit == "" || k.Objective == "" {
			t.Errorf("kpi %q: owner %q, unit %q, objective %q; want all set", k.ID, k.Owner, k.Unit, k.Objective)
		}
		if k.Target == nil {
			t.Errorf("kpi %q has no target", k.ID)
			continue
		}
		if k.Target.Change != nil {
			relative++
			if k.Baseline == nil {
				t.Errorf("kpi %q has a relative target without a baseline", k.ID)
			}
		} else {
			absolute++
		}
	}
	if relative == 0 || absolute == 0 {
		t.Errorf("%d relative and %d absolute targets, want some of each", relative, absolute)
	}

	pro, err := defs.KPI("pro_signups")
	if err != nil {
		t.Fatal(err)
	}
	wantFilter := []kpi.Filter{{Property: "plan", Op: kpi.OpEq, Value: "pro"}}
	if !reflect.DeepEqual(pro.Metric.Filters, wantFilter) {
		t.Errorf("pro_signups filters = %+v, want %+v", pro.Metric.Filters, wantFilter)
	}
	if _, ok := defs.Metrics["purchases"]; !ok {
		t.Error("the file has no named metric purchases")
	}
}

func TestKPIFileMovesDates(t *testing.T) {
	// 2026-12-04 is 28 days before 2027-01-01, the end the file is written for.
	// The end is given in UTC: 23:00 UTC on Dec 3 is midnight on Dec 4 in Berlin.
	end := time.Date(2026, 12, 3, 23, 0, 0, 0, time.UTC)
	data := string(KPIFile(end))

	for _, want := range []string{"date: 2026-06-03", "by: 2027-03-03"} {
		if !strings.Contains(data, want) {
			t.Errorf("the KPI file for data ending 2026-12-04 does not contain %q", want)
		}
	}
	for _, old := range []string{"2026-07-01", "2027-03-31"} {
		if strings.Contains(data, old) {
			t.Errorf("the KPI file for data ending 2026-12-04 still contains %s", old)
		}
	}

	defs, err := kpi.Parse("kpis.yaml", []byte(data))
	if err != nil {
		t.Fatalf("parse the moved KPI file: %v", err)
	}
	wau, err := defs.KPI("weekly_active_users")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := wau.Target.By, (timegrain.Date{Year: 2027, Month: time.March, Day: 3}); got != want {
		t.Errorf("weekly_active_users target.by = %s, want %s", got, want)
	}

	if reference := KPIFile(berlin(t, 2027, time.January, 1)); string(reference) != string(EmbeddedKPIFile()) {
		t.Error("the KPI file for data ending 2027-01-01 differs from the embedded file")
	}
}

// TestKPIStatusesMix computes the demo KPIs over generated data, as the
// dashboard does, and checks that on track, at risk and off track all appear
// on runs made on different weekdays and days of the month.
// The status of a KPI is that of its latest judged period, as on the cards:
// a partial period of a unique-user KPI is pending, so the one before counts.
func TestKPIStatusesMix(t *testing.T) {
	runs := []struct {
		seed int64
		now  time.Time
	}{
		{1, time.Date(2026, 12, 16, 9, 0, 0, 0, time.UTC)}, // a Wednesday mid-month
		{2, time.Date(2027, 1, 22, 9, 0, 0, 0, time.UTC)},  // a Friday late in the month
		{3, time.Date(2027, 3, 8, 9, 0, 0, 0, time.UTC)},   // a Monday early in the month
	}

	for _, run := range runs {
		end := End(run.now)
		defs, err := kpi.Parse("kpis.yaml", KPIFile(end))
		if err != nil {
			t.Fatalf("parse the KPI file for %s: %v", end, err)
		}
		eng := engine.New(newMemoryEvents(Generate(run.seed, 365, end)), func() time.Time { return run.now })

		statuses := map[kpi.Status][]string{}
		for _, k := range defs.KPIs {
			series, err := eng.Series(context.Background(), defs, k.ID, k.Grain, engine.Range{})
			if err != nil {
				t.Fatalf("seed %d, %s: series of %s: %v", run.seed, run.now, k.ID, err)
			}
			latest := series.Latest()
			if latest == nil || latest.Value == nil {
				t.Fatalf("seed %d, %s: %s has no value in its latest period", run.seed, run.now, k.ID)
			}
			statuses[series.Status()] = append(statuses[series.Status()], k.ID)
		}

		for _, want := range []kpi.Status{kpi.OnTrack, kpi.AtRisk, kpi.OffTrack} {
			if len(statuses[want]) == 0 {
				t.Errorf("seed %d, run at %s: no KPI is %s (statuses: %v)", run.seed, run.now, want.Label(), statuses)
			}
		}
	}
}
