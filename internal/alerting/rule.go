package alerting

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// RuleInput is an alert rule as a client sends it, before validation.
type RuleInput struct {
	KPIID       string         `json:"kpi_id"`
	Name        string         `json:"name"`
	Condition   ConditionInput `json:"condition"`
	MinDuration string         `json:"min_duration"` // a Go duration such as "30m" or "2h"; empty for none
	Cooldown    string         `json:"cooldown"`
	MutedUntil  string         `json:"muted_until"` // RFC 3339 time, or a date meaning its start in the workspace time zone
	Notify      ChannelsInput  `json:"notify"`
}

// ConditionInput is a condition as a client sends it. Threshold and Percent
// stay raw so that a value that is not a number gets a clear message.
type ConditionInput struct {
	Kind      string          `json:"kind"`
	Threshold json.RawMessage `json:"threshold"`
	Percent   json.RawMessage `json:"percent"`
	Periods   int             `json:"periods"`
	Direction string          `json:"direction"`
	Statuses  []string        `json:"statuses"`
	Period    string          `json:"period"`
}

// ChannelsInput lists where notifications go, as a client sends it.
type ChannelsInput struct {
	Webhook     *WebhookInput `json:"webhook"`
	ChatWebhook string        `json:"chat_webhook"`
	Emails      []string      `json:"emails"`
}

// WebhookInput is a signed webhook. An empty Secret gets a random one on
// creation and keeps the stored one on update.
type WebhookInput struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// conditionKinds lists the kinds in the order error messages name them.
var conditionKinds = []string{Above, Below, Change, StatusChange, Anomaly, ForecastMiss}

// maxDuration bounds min_duration and cooldown.
const maxDuration = 366 * 24 * time.Hour

// buildRule validates in against defs and returns the rule to store. The
// webhook secret is left empty when in gives none; the caller fills it.
func buildRule(in RuleInput, defs *kpi.Definitions) (store.AlertRule, error) {
	var r store.AlertRule

	if strings.TrimSpace(in.KPIID) == "" {
		return r, kpi.Errorf(kpi.EINVALID, "kpi_id is missing (want the id of a KPI in the KPI file)")
	}
	k, err := defs.KPI(in.KPIID)
	if err != nil {
		// An unknown KPI in a request body is invalid input, not a missing page.
		return r, kpi.Errorf(kpi.EINVALID, "kpi_id: %s", kpi.ErrorMessage(err))
	}
	r.KPIID = k.ID

	r.Condition, err = buildCondition(in.Condition, k)
	if err != nil {
		return r, err
	}

	if r.MinDuration, err = parseDuration("min_duration", in.MinDuration); err != nil {
		return r, err
	}
	if r.Cooldown, err = parseDuration("cooldown", in.Cooldown); err != nil {
		return r, err
	}
	if r.MutedUntil, err = parseMutedUntil(in.MutedUntil, defs.Workspace.Location); err != nil {
		return r, err
	}
	if r.Channels, err = buildChannels(in.Notify); err != nil {
		return r, err
	}

	r.Name = strings.TrimSpace(in.Name)
	if r.Name == "" {
		r.Name = defaultName(k, r.Condition)
	}
	if len(r.Name) > 200 {
		return r, kpi.Errorf(kpi.EINVALID, "name is %d characters long (at most 200)", len(r.Name))
	}
	return r, nil
}

func buildCondition(in ConditionInput, k *kpi.KPI) (store.AlertCondition, error) {
	c := store.AlertCondition{Kind: in.Kind, Direction: in.Direction, Statuses: in.Statuses, Period: in.Period}
	if !slices.Contains(conditionKinds, in.Kind) {
		return c, kpi.Errorf(kpi.EINVALID, "condition.kind %q is not valid (want one of %s)", in.Kind, strings.Join(conditionKinds, ", "))
	}

	switch in.Period {
	case "", PeriodComplete, PeriodCurrent:
	default:
		return c, kpi.Errorf(kpi.EINVALID, "condition.period %q is not valid (want complete or current)", in.Period)
	}

	var err error
	switch in.Kind {
	case Above, Below:
		c.Threshold, err = parseNumber("condition.threshold", in.Threshold, "40000")
		if err != nil {
			return c, err
		}
		if c.Threshold == nil {
			return c, kpi.Errorf(kpi.EINVALID, "condition.threshold is missing; a %q condition needs a number, such as \"threshold\": 40000", in.Kind)
		}

	case Change:
		c.Percent, err = parseNumber("condition.percent", in.Percent, "20")
		if err != nil {
			return c, err
		}
		if c.Percent == nil || *c.Percent <= 0 {
			return c, kpi.Errorf(kpi.EINVALID, "condition.percent must be a positive number, such as \"percent\": 20 for a change of more than 20 %%")
		}
		if in.Periods < 0 || in.Periods > 366 {
			return c, kpi.Errorf(kpi.EINVALID, "condition.periods %d is out of range (want 1 to 366, the number of %s periods to compare across)", in.Periods, k.Grain)
		}
		c.Periods = max(in.Periods, 1)
		switch in.Direction {
		case "":
			c.Direction = "any"
		case "up", "down", "any":
		default:
			return c, kpi.Errorf(kpi.EINVALID, "condition.direction %q is not valid (want up, down or any)", in.Direction)
		}

	case ForecastMiss:
		if k.Target == nil {
			return c, kpi.Errorf(kpi.EINVALID, "KPI %q has no target, so no forecast can miss it; add a target or pick another condition", k.ID)
		}

	case StatusChange:
		for i, s := range in.Statuses {
			switch kpi.Status(s) {
			case kpi.OnTrack, kpi.AtRisk, kpi.OffTrack, kpi.NoTarget:
			default:
				return c, kpi.Errorf(kpi.EINVALID, "condition.statuses[%d] %q is not valid (want on_track, at_risk, off_track or no_target)", i, s)
			}
		}
		if k.Target == nil && len(in.Statuses) == 0 {
			return c, kpi.Errorf(kpi.EINVALID, "KPI %q has no target, so its status never changes; add a target or pick another condition", k.ID)
		}
	}
	return c, nil
}

// parseNumber reads a JSON number, or returns nil when raw is absent or null.
func parseNumber(field string, raw json.RawMessage, example string) (*float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "%s %s is not a number (want a JSON number such as %s, without quotes)", field, truncateRaw(raw), example)
	}
	return &v, nil
}

func truncateRaw(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxDuration {
		return 0, kpi.Errorf(kpi.EINVALID, "%s %q is not a valid duration (want such as \"30m\" or \"2h\", at most 8784h)", field, s)
	}
	if d%time.Second != 0 {
		return 0, kpi.Errorf(kpi.EINVALID, "%s %q has a fraction of a second (want whole seconds)", field, s)
	}
	return d, nil
}

// parseMutedUntil reads an RFC 3339 time, or a date meaning its first
// instant in loc.
func parseMutedUntil(s string, loc *time.Location) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.UTC()
		return &t, nil
	}
	d, err := timegrain.ParseDate(s)
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "muted_until %q is neither a date (YYYY-MM-DD) nor an RFC 3339 time (2026-12-24T09:00:00Z)", s)
	}
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc).UTC()
	return &t, nil
}

func buildChannels(in ChannelsInput) (store.AlertChannels, error) {
	var ch store.AlertChannels
	if in.Webhook != nil {
		if err := notify.ValidateURL("notify.webhook.url", in.Webhook.URL); err != nil {
			return ch, err
		}
		ch.Webhook = &store.Webhook{URL: strings.TrimSpace(in.Webhook.URL), Secret: in.Webhook.Secret}
	}
	if in.ChatWebhook != "" {
		if err := notify.ValidateURL("notify.chat_webhook", in.ChatWebhook); err != nil {
			return ch, err
		}
		ch.ChatWebhook = strings.TrimSpace(in.ChatWebhook)
	}
	emails, err := validateEmails("notify.emails", in.Emails)
	if err != nil {
		return ch, err
	}
	ch.Emails = emails
	return ch, nil
}

// validateEmails checks each address and returns them trimmed.
func validateEmails(field string, list []string) ([]string, error) {
	if len(list) > 100 {
		return nil, kpi.Errorf(kpi.EINVALID, "%s lists %d addresses (at most 100)", field, len(list))
	}
	var out []string
	for i, addr := range list {
		addr = strings.TrimSpace(addr)
		if err := notify.ValidateEmail(fmt.Sprintf("%s[%d]", field, i), addr); err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	return out, nil
}

func defaultName(k *kpi.KPI, c store.AlertCondition) string {
	switch c.Kind {
	case Above, Below:
		return fmt.Sprintf("%s %s %s", k.Name, c.Kind, formatValue(*c.Threshold, k.Unit))
	case Change:
		return fmt.Sprintf("%s changes by more than %s%%", k.Name, formatValue(*c.Percent, ""))
	case StatusChange:
		return k.Name + " status"
	case Anomaly:
		return k.Name + " is anomalous"
	case ForecastMiss:
		return k.Name + " is forecast to miss its target"
	}
	return k.Name + " " + c.Kind
}

// newSecret returns 32 random bytes in hex, for a webhook without a secret.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a webhook secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// RuleStore keeps alert rules and their history.
type RuleStore interface {
	CreateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error)
	AlertRule(ctx context.Context, id int64) (store.AlertRule, error)
	AlertRules(ctx context.Context) ([]store.AlertRule, error)
	UpdateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error)
	DeleteAlertRule(ctx context.Context, id int64) error
	SaveAlertState(ctx context.Context, id int64, st store.AlertState, events []store.AlertEvent) error
	AlertHistory(ctx context.Context, id int64) ([]store.AlertEvent, error)
	RecordDelivery(ctx context.Context, d store.Delivery) error
	Deliveries(ctx context.Context, kind string, refID int64) ([]store.Delivery, error)
}

// Rules validates and stores alert rules.
type Rules struct {
	Store       RuleStore
	Definitions func() *kpi.Definitions
	Now         func() time.Time
}

// Create validates in and stores it as a new rule in state normal. A
// webhook without a secret gets a random one, returned in the rule.
func (s *Rules) Create(ctx context.Context, in RuleInput) (store.AlertRule, error) {
	r, err := buildRule(in, s.Definitions())
	if err != nil {
		return store.AlertRule{}, err
	}
	if r.Channels.Webhook != nil && r.Channels.Webhook.Secret == "" {
		if r.Channels.Webhook.Secret, err = newSecret(); err != nil {
			return store.AlertRule{}, err
		}
	}
	r.CreatedAt = s.Now().UTC().Truncate(time.Microsecond)
	return s.Store.CreateAlertRule(ctx, r)
}

// Update validates in and replaces rule id's definition, keeping its state
// and history. A webhook given without a secret keeps the stored one.
func (s *Rules) Update(ctx context.Context, id int64, in RuleInput) (store.AlertRule, error) {
	old, err := s.Store.AlertRule(ctx, id)
	if err != nil {
		return store.AlertRule{}, err
	}
	r, err := buildRule(in, s.Definitions())
	if err != nil {
		return store.AlertRule{}, err
	}
	if w := r.Channels.Webhook; w != nil && w.Secret == "" {
		if old.Channels.Webhook != nil {
			w.Secret = old.Channels.Webhook.Secret
		} else if w.Secret, err = newSecret(); err != nil {
			return store.AlertRule{}, err
		}
	}
	// The API shows a chat webhook URL redacted; sent back unchanged, it
	// keeps the stored URL.
	if old.Channels.ChatWebhook != "" && strings.TrimSpace(in.Notify.ChatWebhook) == notify.RedactURL(old.Channels.ChatWebhook) {
		r.Channels.ChatWebhook = old.Channels.ChatWebhook
	}
	r.ID = id
	r.UpdatedAt = s.Now().UTC().Truncate(time.Microsecond)
	return s.Store.UpdateAlertRule(ctx, r)
}

// Get returns rule id, or ENOTFOUND.
func (s *Rules) Get(ctx context.Context, id int64) (store.AlertRule, error) {
	return s.Store.AlertRule(ctx, id)
}

// List returns every rule, oldest first.
func (s *Rules) List(ctx context.Context) ([]store.AlertRule, error) {
	return s.Store.AlertRules(ctx)
}

// Delete deletes rule id and its history, or returns ENOTFOUND.
func (s *Rules) Delete(ctx context.Context, id int64) error {
	return s.Store.DeleteAlertRule(ctx, id)
}

// History returns rule id's transitions and its delivery records, oldest
// first, or ENOTFOUND.
func (s *Rules) History(ctx context.Context, id int64) ([]store.AlertEvent, []store.Delivery, error) {
	events, err := s.Store.AlertHistory(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	deliveries, err := s.Store.Deliveries(ctx, "alert", id)
	if err != nil {
		return nil, nil, err
	}
	return events, deliveries, nil
}
