package alerting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/scheduler"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

const revenueKPIs = `workspace:
  name: Test
  time_zone: UTC
kpis:
  - id: revenue
    name: Daily revenue
    unit: USD
    grain: day
    metric: {kind: measurement, series: revenue, aggregate: last}
`

// fixture is a migrated SQLite store, the real engine and an evaluator,
// all on one fake clock.
type fixture struct {
	db    *sqlite.DB
	defs  *kpi.Definitions
	now   time.Time
	rules *alerting.Rules
	eval  *alerting.Evaluator
}

func newFixture(t *testing.T, kpis string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	defs, err := kpi.Parse("kpis.yaml", []byte(kpis))
	if err != nil {
		t.Fatal(err)
	}

	f := &fixture{db: db, defs: defs}
	clock := func() time.Time { return f.now }
	definitions := func() *kpi.Definitions { return defs }
	f.rules = &alerting.Rules{Store: db, Definitions: definitions, Now: clock}
	f.eval = &alerting.Evaluator{
		Store: db, Series: engine.New(db, clock), Definitions: definitions,
		Senders: alerting.Senders{Deliverer: &notify.Deliverer{Recorder: db, Now: clock, Sleep: func(context.Context, time.Duration) error { return nil }}},
	}
	return f
}

// measure stores the revenue of one March 2026 day, at noon UTC.
func (f *fixture) measure(t *testing.T, day int, value float64) {
	t.Helper()
	f.measureSeries(t, "revenue", day, value)
}

// measureSeries stores a value of a series on one March 2026 day, at noon UTC.
func (f *fixture) measureSeries(t *testing.T, series string, day int, value float64) {
	t.Helper()
	_, err := f.db.InsertMeasurements(context.Background(), []store.Measurement{{
		Series: series, Timestamp: time.Date(2026, 3, day, 12, 0, 0, 0, time.UTC), Value: value,
		Source: "test", MessageID: fmt.Sprintf("%s-%d", series, day),
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// webhookReceiver keeps the alert payloads it receives.
type webhookReceiver struct {
	mu       sync.Mutex
	payloads []alerting.AlertPayload
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p alerting.AlertPayload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.payloads = append(w.payloads, p)
	w.mu.Unlock()
}

func march(day int) time.Time { return time.Date(2026, 3, day, 0, 30, 0, 0, time.UTC) }

// TestAlertWalk walks a "revenue below 100" rule with a minimum duration of
// 48 hours and a cooldown of 72 hours through a fortnight, evaluated by the
// scheduler every day at 00:30 on the day before's value. The expected
// transitions are worked out by hand in the comments.
func TestAlertWalk(t *testing.T) {
	f := newFixture(t, revenueKPIs)
	ctx := context.Background()
	receiver := &webhookReceiver{}
	srv := httptest.NewServer(receiver)
	defer srv.Close()

	f.now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rule, err := f.rules.Create(ctx, alerting.RuleInput{
		KPIID:       "revenue",
		Condition:   alerting.ConditionInput{Kind: "below", Threshold: json.RawMessage("100")},
		MinDuration: "48h",
		Cooldown:    "72h",
		Notify:      alerting.ChannelsInput{Webhook: &alerting.WebhookInput{URL: srv.URL + "/hook"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	sched := scheduler.New(time.UTC, func() time.Time { return f.now }, nil)
	if err := sched.Add("alerts", "30 0 * * *", f.eval.Evaluate); err != nil {
		t.Fatal(err)
	}

	// Revenue per day. Day 11 has no measurement.
	values := map[int]float64{1: 120, 2: 90, 3: 90, 4: 90, 5: 110, 6: 80, 7: 80, 8: 80, 9: 130, 10: 130, 12: 130}
	for day := 2; day <= 13; day++ {
		if v, ok := values[day-1]; ok {
			f.measure(t, day-1, v)
		}
		if day == 10 {
			// Mute from now on, until the 20th.
			f.now = march(day).Add(-time.Minute)
			if _, err := f.rules.Update(ctx, rule.ID, alerting.RuleInput{
				KPIID: "revenue", Name: rule.Name, Condition: alerting.ConditionInput{Kind: "below", Threshold: json.RawMessage("100")},
				MinDuration: "48h", Cooldown: "72h", MutedUntil: "2026-03-20",
				Notify: alerting.ChannelsInput{Webhook: &alerting.WebhookInput{URL: srv.URL + "/hook"}},
			}); err != nil {
				t.Fatal(err)
			}
		}
		f.now = march(day)
		if ran := sched.RunDue(ctx, f.now); len(ran) != 1 {
			t.Fatalf("on the %dth the scheduler ran %v, want the alerts job", day, ran)
		}
	}

	type transition struct {
		at       time.Time
		from, to string
		value    string // "" for no value
		note     string // a part of the note
	}
	want := []transition{
		{march(3), "normal", "pending", "90", "is below"},       // day 2 is 90
		{march(5), "pending", "firing", "90", "; notified"},     // 48 h after the 3rd
		{march(6), "firing", "resolved", "110", "cooldown"},     // 24 h after the last notification
		{march(7), "resolved", "pending", "80", "is below"},     // day 6 is 80
		{march(9), "pending", "firing", "80", "; notified"},     // 96 h after the 5th: past the cooldown
		{march(10), "firing", "resolved", "130", "muted until"}, // muted until the 20th
		{march(12), "resolved", "no_data", "", "no value"},      // day 11 has no measurement
		{march(13), "no_data", "normal", "130", "is not below"},
	}

	history, err := f.db.AlertHistory(ctx, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != len(want) {
		for _, h := range history {
			t.Logf("%s %s -> %s %v %s", h.At.Format(time.DateTime), h.From, h.To, h.Value, h.Note)
		}
		t.Fatalf("%d transitions, want %d", len(history), len(want))
	}
	for i, w := range want {
		h := history[i]
		value := ""
		if h.Value != nil {
			value = fmt.Sprint(*h.Value)
		}
		if !h.At.Equal(w.at) || h.From != w.from || h.To != w.to || value != w.value || !strings.Contains(h.Note, w.note) {
			t.Errorf("transition %d = %s %s -> %s value %q note %q, want %s %s -> %s value %q note containing %q",
				i, h.At.Format(time.DateTime), h.From, h.To, value, h.Note, w.at.Format(time.DateTime), w.from, w.to, w.value, w.note)
		}
	}

	// Only the two firings were sent.
	if len(receiver.payloads) != 2 {
		t.Fatalf("webhook received %d notifications, want 2", len(receiver.payloads))
	}
	for i, day := range []int{5, 9} {
		p := receiver.payloads[i]
		if p.State != "firing" || p.PreviousState != "pending" || !p.At.Equal(march(day)) || p.KPIID != "revenue" || p.RuleID != rule.ID {
			t.Errorf("notification %d = %+v, want firing on the %dth", i, p, day)
		}
	}

	deliveries, err := f.db.Deliveries(ctx, "alert", rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 2 || deliveries[0].Status != "ok" || deliveries[1].Status != "ok" {
		t.Errorf("deliveries = %+v, want two ok", deliveries)
	}

	final, err := f.db.AlertRule(ctx, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State.State != "normal" || final.State.LastNotifiedAt == nil || !final.State.LastNotifiedAt.Equal(march(9)) {
		t.Errorf("final state = %+v, want normal, last notified on the 9th", final.State)
	}
}

// countingSeries counts the series a real engine computes.
type countingSeries struct {
	alerting.SeriesComputer
	calls int
}

func (c *countingSeries) Series(ctx context.Context, defs *kpi.Definitions, id string, grain timegrain.Grain, r engine.Range) (*engine.Series, error) {
	c.calls++
	return c.SeriesComputer.Series(ctx, defs, id, grain, r)
}

func TestEvaluateSharesSeries(t *testing.T) {
	f := newFixture(t, revenueKPIs)
	ctx := context.Background()
	f.now = march(1)
	for _, threshold := range []string{"100", "200"} {
		if _, err := f.rules.Create(ctx, alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "below", Threshold: json.RawMessage(threshold)}}); err != nil {
			t.Fatal(err)
		}
	}
	f.measure(t, 1, 150)

	counter := &countingSeries{SeriesComputer: f.eval.Series}
	f.eval.Series = counter
	f.now = march(2)
	if err := f.eval.Evaluate(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	if counter.calls != 1 {
		t.Errorf("two rules on one KPI computed its series %d times, want once", counter.calls)
	}

	// 150 is below 200 but not below 100.
	rules, err := f.db.AlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rules[0].State.State != "normal" || rules[1].State.State != "firing" {
		t.Errorf("states = %s, %s, want normal, firing", rules[0].State.State, rules[1].State.State)
	}
}
