package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// SeriesComputer computes a KPI's series; engine.Engine implements it.
type SeriesComputer interface {
	Series(ctx context.Context, defs *kpi.Definitions, id string, grain timegrain.Grain, r engine.Range) (*engine.Series, error)
}

var _ SeriesComputer = (*engine.Engine)(nil)

// Senders holds the notifiers that rules and reports send through.
type Senders struct {
	Deliverer *notify.Deliverer
	Mailer    *notify.Mailer // nil when no SMTP server is configured
	BaseURL   string         // the server's public URL for links, or "" for paths only
}

// Evaluator evaluates every alert rule and sends the notifications that
// transitions ask for.
type Evaluator struct {
	Store       RuleStore
	Series      SeriesComputer
	Definitions func() *kpi.Definitions
	Senders     Senders
	Logger      *slog.Logger
}

// Evaluate judges every rule at time now, saves the states that changed
// with their history, and notifies. One rule's failure is logged and the
// others still run; the errors are returned joined.
func (e *Evaluator) Evaluate(ctx context.Context, now time.Time) error {
	rules, err := e.Store.AlertRules(ctx)
	if err != nil {
		return err
	}

	// Rules on one KPI share its series within one evaluation.
	cache := map[string]seriesResult{}
	var errs []error
	for _, r := range rules {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := e.evaluateRule(ctx, r, now, cache); err != nil {
			e.logger().Error("alert rule evaluation failed", slog.Int64("rule_id", r.ID), slog.String("kpi", r.KPIID), slog.Any("error", err))
			errs = append(errs, fmt.Errorf("alert rule %d: %w", r.ID, err))
		}
	}
	return errors.Join(errs...)
}

// seriesResult is a computed series or the error that computing it returned.
type seriesResult struct {
	series *engine.Series
	err    error
}

func (e *Evaluator) evaluateRule(ctx context.Context, r store.AlertRule, now time.Time, cache map[string]seriesResult) error {
	defs := e.Definitions()
	reading, k, err := e.read(ctx, defs, r, now, cache)
	if err != nil {
		return err
	}

	cur := Status{State: State(r.State.State), Since: r.State.Since, LastNotified: r.State.LastNotifiedAt}
	step := Transition(cur, reading.Observation, Timing{MinDuration: r.MinDuration, Cooldown: r.Cooldown, MutedUntil: r.MutedUntil})

	evaluated := now
	st := store.AlertState{
		State: string(step.Next.State), Since: step.Next.Since, Value: reading.Value,
		KPIStatus: string(reading.KPIStatus), LastNotifiedAt: step.Next.LastNotified, EvaluatedAt: &evaluated,
	}

	var events []store.AlertEvent
	if step.Changed {
		note := reading.Detail
		switch {
		case step.Notify:
			note += "; notified"
		case step.Suppressed != "":
			note += "; notification suppressed: " + step.Suppressed
		}
		events = append(events, store.AlertEvent{At: now, From: string(cur.State), To: string(step.Next.State), Value: reading.Value, Note: note})
	}
	if err := e.Store.SaveAlertState(ctx, r.ID, st, events); err != nil {
		return err
	}

	if step.Changed {
		e.logger().Info("alert rule changed state", slog.Int64("rule_id", r.ID), slog.String("kpi", r.KPIID),
			slog.String("from", string(cur.State)), slog.String("to", string(step.Next.State)), slog.Bool("notify", step.Notify))
	}
	if step.Notify {
		e.notify(ctx, r, k, cur.State, step.Next.State, reading, now)
	}
	return nil
}

// read computes the rule's KPI series and judges the condition. A KPI that
// is no longer defined, or whose series fails for a reason in its
// definition, reads as no data with the reason as detail.
func (e *Evaluator) read(ctx context.Context, defs *kpi.Definitions, r store.AlertRule, now time.Time, cache map[string]seriesResult) (Reading, *kpi.KPI, error) {
	k, err := defs.KPI(r.KPIID)
	if err != nil {
		return Reading{Observation: Observation{At: now, NoData: true}, KPIStatus: kpi.NoData, Detail: kpi.ErrorMessage(err)},
			&kpi.KPI{ID: r.KPIID, Name: r.KPIID}, nil
	}

	result, ok := cache[k.ID]
	if !ok {
		result.series, result.err = e.Series.Series(ctx, defs, k.ID, k.Grain, engine.Range{})
		cache[k.ID] = result
	}
	series, err := result.series, result.err
	if kpi.ErrorCode(err) == kpi.EINTERNAL {
		return Reading{}, nil, err
	}
	if err != nil {
		return Reading{Observation: Observation{At: now, NoData: true}, KPIStatus: kpi.NoData, Detail: kpi.ErrorMessage(err)}, k, nil
	}
	return Observe(r.Condition, k, series, r.State.KPIStatus, now), k, nil
}

func (e *Evaluator) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// AlertPayload is the JSON body of an alert webhook. Its format is
// documented in docs/alerts.md; add fields, never rename them.
type AlertPayload struct {
	Event         string               `json:"event"` // always "alert"
	RuleID        int64                `json:"rule_id"`
	RuleName      string               `json:"rule_name"`
	KPIID         string               `json:"kpi_id"`
	KPIName       string               `json:"kpi_name"`
	Condition     store.AlertCondition `json:"condition"`
	State         string               `json:"state"`
	PreviousState string               `json:"previous_state"`
	At            time.Time            `json:"at"`
	Value         *float64             `json:"value"`
	Unit          string               `json:"unit"`
	Detail        string               `json:"detail"`
	URL           string               `json:"url"`
}

// notify sends the transition to every channel of the rule. Each channel is
// delivered, retried and recorded on its own.
func (e *Evaluator) notify(ctx context.Context, r store.AlertRule, k *kpi.KPI, from, to State, reading Reading, now time.Time) {
	link := e.Senders.BaseURL + "/kpis/" + url.PathEscape(k.ID)
	verb := "is firing"
	if to == Resolved {
		verb = "is resolved"
	}
	subject := fmt.Sprintf("[Northstar] %s %s", r.Name, verb)
	text := fmt.Sprintf("%s: %s.\nKPI: %s\n%s", r.Name, reading.Detail, k.Name, link)
	msg := notify.Message{
		Subject: subject,
		Text:    text,
		HTML:    alertHTML(r.Name, verb, reading.Detail, k.Name, link),
		Payload: AlertPayload{
			Event: "alert", RuleID: r.ID, RuleName: r.Name, KPIID: k.ID, KPIName: k.Name, Condition: r.Condition,
			State: string(to), PreviousState: string(from), At: now.UTC(), Value: reading.Value, Unit: k.Unit,
			Detail: reading.Detail, URL: link,
		},
	}
	sendAll(ctx, e.Senders, "alert", r.ID, r.Channels, msg)
}

// sendAll delivers msg on each channel, recording every attempt.
func sendAll(ctx context.Context, s Senders, kind string, refID int64, ch store.AlertChannels, msg notify.Message) {
	dl := s.Deliverer
	if dl == nil {
		dl = &notify.Deliverer{}
	}

	if w := ch.Webhook; w != nil {
		hook := notify.Webhook{URL: w.URL, Secret: w.Secret}
		_ = dl.Deliver(ctx, store.Delivery{Kind: kind, RefID: refID, Channel: "webhook", Target: notify.RedactURL(w.URL)},
			func(ctx context.Context) error { return hook.Send(ctx, msg) })
	}
	if ch.ChatWebhook != "" {
		chat := notify.Chat{URL: ch.ChatWebhook}
		_ = dl.Deliver(ctx, store.Delivery{Kind: kind, RefID: refID, Channel: "chat", Target: notify.RedactURL(ch.ChatWebhook)},
			func(ctx context.Context) error { return chat.Send(ctx, msg) })
	}
	if len(ch.Emails) > 0 {
		mailer := s.Mailer
		_ = dl.Deliver(ctx, store.Delivery{Kind: kind, RefID: refID, Channel: "email", Target: strings.Join(ch.Emails, ", ")},
			func(ctx context.Context) error {
				if mailer == nil {
					return &notify.SendError{Err: errors.New("no SMTP server is configured (start northstar serve with --smtp-addr and --smtp-from)"), Permanent: true}
				}
				return mailer.Send(ctx, ch.Emails, msg)
			})
	}
}
