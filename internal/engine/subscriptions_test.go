package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

const subscriptionKPIs = `workspace:
  name: Billing
  time_zone: America/New_York
  week_start: monday
kpis:
  - id: mrr
    name: MRR
    unit: USD
    metric: {kind: mrr, start_event: subscribed, cancel_event: cancelled, property: amount}
  - id: subscriptions
    name: Active subscriptions
    metric: {kind: active_subscriptions, start_event: subscribed, cancel_event: cancelled}
  - id: subscription_churn
    name: Subscription churn
    unit: "%"
    direction: down
    metric: {kind: subscription_churn, start_event: subscribed, cancel_event: cancelled}
  - id: plans
    name: Active plans
    metric: {kind: active_subscriptions, start_event: subscribed, cancel_event: cancelled, subscription_key: plan}
`

func amount(v float64) map[string]any { return map[string]any{"amount": v} }

func TestSubscriptionsHandCount(t *testing.T) {
	events := []activityEvent{
		{"a", "subscribed", "2026-01-10 09:00", amount(50)},
		{"b", "subscribed", "2026-01-20 09:00", amount(30)},
		{"b", "subscribed", "2026-02-05 09:00", amount(45)}, // an upgrade, not a new subscription
		{"c", "subscribed", "2026-02-01 00:00", amount(20)}, // at the start of February: not active then
		{"a", "cancelled", "2026-02-15 09:00", nil},
		{"a", "subscribed", "2026-03-03 09:00", amount(60)}, // a restart is a new subscription
		{"d", "subscribed", "2026-03-05 09:00", amount(10)},
		{"d", "cancelled", "2026-03-20 09:00", nil},
		{"e", "cancelled", "2026-03-25 09:00", nil}, // never subscribed
	}
	e, defs, _ := openActivityEngine(t, subscriptionKPIs, farFuture, events)

	mrr := series(t, e, defs, "mrr", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, mrr, []want{
		{"2026-01-01 00:00", v(80)},  // a 50 + b 30
		{"2026-02-01 00:00", v(65)},  // b 45 + c 20
		{"2026-03-01 00:00", v(125)}, // b 45 + c 20 + a 60
	})
	if len(mrr.Warnings) != 1 || !strings.Contains(mrr.Warnings[0], `ignored 1 "cancelled" events`) {
		t.Errorf("warnings = %q, want one about the cancel without a subscription", mrr.Warnings)
	}

	active := series(t, e, defs, "subscriptions", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, active, []want{
		{"2026-01-01 00:00", v(2)},
		{"2026-02-01 00:00", v(2)},
		{"2026-03-01 00:00", v(3)},
	})
	flows := []map[string]float64{
		{"active_start": 0, "started": 2, "cancelled": 0, "active_end": 2},
		{"active_start": 2, "started": 1, "cancelled": 1, "active_end": 2},
		{"active_start": 2, "started": 2, "cancelled": 1, "active_end": 3},
	}
	for i, want := range flows {
		for name, n := range want {
			checkFloat(t, fmt.Sprintf("month %d %s", i+1, name), detail(active.Points[i], name), &n)
		}
	}

	churn := series(t, e, defs, "subscription_churn", timegrain.Month, "2026-01-01", "2026-03-31")
	checkValues(t, churn, []want{
		{"2026-01-01 00:00", nil},
		{"2026-02-01 00:00", v(50)}, // a of a, b
		{"2026-03-01 00:00", v(50)}, // d, started in March, of b, c
	})
	if got := churn.Points[0].NoValueReason; got != "no active subscriptions at the start of the period" {
		t.Errorf("January NoValueReason = %q", got)
	}
	checkFloat(t, "March change in points", churn.Points[2].Change, v(0))
}

func TestSubscriptionsByKey(t *testing.T) {
	plan := func(id string) map[string]any { return map[string]any{"plan": id} }
	events := []activityEvent{
		{"a", "subscribed", "2026-01-10 09:00", plan("p1")},
		{"a", "subscribed", "2026-01-11 09:00", plan("p2")}, // one user, two plans
		{"b", "subscribed", "2026-01-12 09:00", plan("p3")},
		{"a", "cancelled", "2026-02-10 09:00", plan("p1")},
		{"b", "cancelled", "2026-02-11 09:00", nil}, // no key: skipped with a warning
	}
	e, defs, _ := openActivityEngine(t, subscriptionKPIs, farFuture, events)

	plans := series(t, e, defs, "plans", timegrain.Month, "2026-01-01", "2026-02-28")
	checkValues(t, plans, []want{{"2026-01-01 00:00", v(3)}, {"2026-02-01 00:00", v(2)}})
	if len(plans.Warnings) != 1 || !strings.Contains(plans.Warnings[0], `skipped 1 "subscribed" or "cancelled" events without a "plan" property`) {
		t.Errorf("warnings = %q", plans.Warnings)
	}

	// Keyed by user, a's two starts are one subscription.
	users := series(t, e, defs, "subscriptions", timegrain.Month, "2026-01-01", "2026-02-28")
	checkValues(t, users, []want{{"2026-01-01 00:00", v(2)}, {"2026-02-01 00:00", v(0)}})
}

// subscriptionEvent is one generated start or cancel.
type subscriptionEvent struct {
	user   string
	cancel bool
	at     time.Time // New York time
	amount float64
}

// generatedSubscriptions returns starts and cancels of 40 users from
// December 2025 to June 2026, from a fixed seed. Some cancels come without a
// subscription, and some starts while one is active.
func generatedSubscriptions(t *testing.T) []subscriptionEvent {
	rng := rand.New(rand.NewPCG(3, 5))
	loc := newYork(t)
	var out []subscriptionEvent
	for u := range 40 {
		at := time.Date(2025, 12, 1, 0, 0, 0, 0, loc)
		for {
			at = at.Add(time.Duration(rng.IntN(40*24*60)) * time.Minute)
			if at.Year() == 2026 && at.Month() > time.June {
				break
			}
			// Every tenth event lands on a midnight, a bound of every grain.
			if rng.IntN(10) == 0 {
				at = time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc)
			}
			out = append(out, subscriptionEvent{
				user:   fmt.Sprintf("u%02d", u),
				cancel: rng.IntN(2) == 0,
				at:     at,
				amount: float64(10 + 5*rng.IntN(20)),
			})
		}
	}
	return out
}

// replaySubscriptions counts the subscriptions active at t, and their MRR,
// by replaying every event before t in time order (ties in input order).
func replaySubscriptions(events []subscriptionEvent, t time.Time) (active int, mrr float64) {
	amounts := map[string]float64{}
	ordered := append([]subscriptionEvent(nil), events...)
	sortStable(ordered)
	for _, e := range ordered {
		if !e.at.Before(t) {
			break
		}
		if e.cancel {
			delete(amounts, e.user)
		} else {
			amounts[e.user] = e.amount
		}
	}
	for _, a := range amounts {
		mrr += a
	}
	return len(amounts), mrr
}

// sortStable sorts events by time, keeping the input order of ties, with an
// insertion sort that shares no code with the engine.
func sortStable(events []subscriptionEvent) {
	for i := 1; i < len(events); i++ {
		for j := i; j > 0 && events[j].at.Before(events[j-1].at); j-- {
			events[j], events[j-1] = events[j-1], events[j]
		}
	}
}

func TestSubscriptionsReconcileGenerated(t *testing.T) {
	generated := generatedSubscriptions(t)
	events := make([]activityEvent, len(generated))
	for i, g := range generated {
		events[i] = activityEvent{g.user, "subscribed", g.at.Format("2006-01-02 15:04"), amount(g.amount)}
		if g.cancel {
			events[i] = activityEvent{g.user, "cancelled", g.at.Format("2006-01-02 15:04"), nil}
		}
	}
	// The clock is past the last event, so every period is whole.
	now := time.Date(2026, time.August, 1, 0, 0, 0, 0, time.UTC)
	e, defs, _ := openActivityEngine(t, subscriptionKPIs, now, events)

	for _, tt := range []struct {
		grain    timegrain.Grain
		from, to string
	}{
		{timegrain.Month, "2026-01-01", "2026-06-30"},
		{timegrain.Week, "2026-01-05", "2026-06-28"},
	} {
		t.Run(string(tt.grain), func(t *testing.T) {
			active := series(t, e, defs, "subscriptions", tt.grain, tt.from, tt.to)
			mrr := series(t, e, defs, "mrr", tt.grain, tt.from, tt.to)
			churn := series(t, e, defs, "subscription_churn", tt.grain, tt.from, tt.to)

			for i, p := range active.Points {
				label := p.Start.Format(time.DateOnly)
				start, _ := replaySubscriptions(generated, p.Start)
				end, endMRR := replaySubscriptions(generated, p.End)

				checkFloat(t, label+" active", p.Value, v(float64(end)))
				checkFloat(t, label+" MRR", mrr.Points[i].Value, v(endMRR))
				checkFloat(t, label+" active_start", detail(p, "active_start"), v(float64(start)))

				d := p.Details
				if d["active_start"]+d["started"]-d["cancelled"] != d["active_end"] {
					t.Errorf("%s: %v + %v started - %v cancelled != %v active at the end",
						label, d["active_start"], d["started"], d["cancelled"], d["active_end"])
				}
				if start > 0 {
					checkFloat(t, label+" churn", churn.Points[i].Value, v(100*d["cancelled"]/float64(start)))
				}
			}
		})
	}
}
