package alerting_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

func TestRuleRejectsBadInput(t *testing.T) {
	f := newFixture(t, revenueKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	below := func(threshold string) alerting.ConditionInput {
		return alerting.ConditionInput{Kind: "below", Threshold: json.RawMessage(threshold)}
	}
	tests := []struct {
		name string
		in   alerting.RuleInput
		want string
	}{
		{"unknown KPI", alerting.RuleInput{KPIID: "mrr", Condition: below("100")}, `KPI "mrr" not found`},
		{"missing KPI", alerting.RuleInput{Condition: below("100")}, "kpi_id is missing"},
		{"threshold not a number", alerting.RuleInput{KPIID: "revenue", Condition: below(`"lots"`)}, `condition.threshold "lots" is not a number`},
		{"threshold missing", alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "above"}}, "condition.threshold is missing"},
		{"ftp webhook", alerting.RuleInput{KPIID: "revenue", Condition: below("100"), Notify: alerting.ChannelsInput{Webhook: &alerting.WebhookInput{URL: "ftp://127.0.0.1/x"}}}, `scheme "ftp"`},
		{"ftp chat webhook", alerting.RuleInput{KPIID: "revenue", Condition: below("100"), Notify: alerting.ChannelsInput{ChatWebhook: "ftp://127.0.0.1/x"}}, "notify.chat_webhook"},
		{"bad e-mail", alerting.RuleInput{KPIID: "revenue", Condition: below("100"), Notify: alerting.ChannelsInput{Emails: []string{"pm"}}}, `notify.emails[0] "pm"`},
		{"unknown kind", alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "sideways"}}, `condition.kind "sideways" is not valid`},
		{"bad duration", alerting.RuleInput{KPIID: "revenue", Condition: below("100"), MinDuration: "5 minutes"}, `min_duration "5 minutes"`},
		{"negative cooldown", alerting.RuleInput{KPIID: "revenue", Condition: below("100"), Cooldown: "-1h"}, `cooldown "-1h"`},
		{"bad mute", alerting.RuleInput{KPIID: "revenue", Condition: below("100"), MutedUntil: "next week"}, `muted_until "next week"`},
		{"change without percent", alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "change"}}, "condition.percent must be a positive number"},
		{"status without target", alerting.RuleInput{KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "status"}}, "has no target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.rules.Create(ctx, tt.in)
			if kpi.ErrorCode(err) != kpi.EINVALID {
				t.Fatalf("error = %v, want an invalid error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	rules, err := f.db.AlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 0 {
		t.Errorf("%d rules stored after rejected input, want 0", len(rules))
	}
}

func TestRuleDefaultsAndSecret(t *testing.T) {
	f := newFixture(t, revenueKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	r, err := f.rules.Create(ctx, alerting.RuleInput{
		KPIID:      "revenue",
		Condition:  alerting.ConditionInput{Kind: "change", Percent: json.RawMessage("25")},
		MutedUntil: "2026-03-10",
		Notify:     alerting.ChannelsInput{Webhook: &alerting.WebhookInput{URL: "http://127.0.0.1:9/hook"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Daily revenue changes by more than 25%" {
		t.Errorf("name = %q", r.Name)
	}
	if r.Condition.Periods != 1 || r.Condition.Direction != "any" {
		t.Errorf("condition = %+v, want 1 period in any direction", r.Condition)
	}
	if want := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC); r.MutedUntil == nil || !r.MutedUntil.Equal(want) {
		t.Errorf("muted until = %v, want %s", r.MutedUntil, want)
	}
	secret := r.Channels.Webhook.Secret
	if len(secret) != 64 {
		t.Errorf("generated secret has %d characters, want 64 hex digits", len(secret))
	}

	updated, err := f.rules.Update(ctx, r.ID, alerting.RuleInput{
		KPIID: "revenue", Condition: alerting.ConditionInput{Kind: "above", Threshold: json.RawMessage("5e3")},
		Notify: alerting.ChannelsInput{Webhook: &alerting.WebhookInput{URL: "https://127.0.0.1/other"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Channels.Webhook.Secret != secret {
		t.Error("update without a secret replaced the stored secret")
	}
	if *updated.Condition.Threshold != 5000 {
		t.Errorf("threshold = %v, want 5000", *updated.Condition.Threshold)
	}
}
