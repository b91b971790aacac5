package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// AlertStore is the storage of alert rules, deliveries and report
// schedules. The suite fails when a store lacks it.
type AlertStore interface {
	CreateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error)
	AlertRule(ctx context.Context, id int64) (store.AlertRule, error)
	AlertRules(ctx context.Context) ([]store.AlertRule, error)
	UpdateAlertRule(ctx context.Context, r store.AlertRule) (store.AlertRule, error)
	DeleteAlertRule(ctx context.Context, id int64) error
	SaveAlertState(ctx context.Context, id int64, st store.AlertState, events []store.AlertEvent) error
	AlertHistory(ctx context.Context, id int64) ([]store.AlertEvent, error)
	RecordDelivery(ctx context.Context, d store.Delivery) error
	Deliveries(ctx context.Context, kind string, refID int64) ([]store.Delivery, error)

	CreateReportSchedule(ctx context.Context, s store.ReportSchedule) (store.ReportSchedule, error)
	ReportSchedules(ctx context.Context) ([]store.ReportSchedule, error)
	DeleteReportSchedule(ctx context.Context, id int64) error
	MarkReportScheduleRun(ctx context.Context, s store.ReportSchedule) error
}

var alertTests = []test{
	{"rule round trip", testAlertRuleRoundTrip},
	{"state and history", testAlertStateHistory},
	{"unknown rule", testAlertRuleUnknown},
	{"deliveries", testDeliveries},
	{"report schedules", testReportSchedules},
}

func openAlertStore(t *testing.T, open func(t *testing.T) Store) AlertStore {
	t.Helper()
	s, ok := open(t).(AlertStore)
	if !ok {
		t.Fatal("the store does not implement storetest.AlertStore")
	}
	return s
}

func testAlertRuleRoundTrip(t *testing.T, open func(t *testing.T) Store) {
	db := openAlertStore(t, open)
	ctx := context.Background()

	threshold := 40000.5
	muted := at(20, 0, 0, 0)
	in := store.AlertRule{
		KPIID:       "mau",
		Name:        "MAU below 40k",
		Condition:   store.AlertCondition{Kind: "below", Threshold: &threshold},
		Channels:    store.AlertChannels{Webhook: &store.Webhook{URL: "http://127.0.0.1:9/hook", Secret: "s3cret"}, Emails: []string{"pm@example.com"}},
		MinDuration: 15 * time.Minute,
		Cooldown:    time.Hour,
		MutedUntil:  &muted,
		CreatedAt:   at(2, 9, 0, 0),
	}
	created, err := db.CreateAlertRule(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID <= 0 {
		t.Errorf("id = %d, want a positive id", created.ID)
	}

	got, err := db.AlertRule(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.KPIID != "mau" || got.Name != "MAU below 40k" {
		t.Errorf("rule = %+v", got)
	}
	if got.Condition.Kind != "below" || got.Condition.Threshold == nil || *got.Condition.Threshold != threshold {
		t.Errorf("condition = %+v, want below 40000.5", got.Condition)
	}
	if got.Channels.Webhook == nil || got.Channels.Webhook.Secret != "s3cret" || len(got.Channels.Emails) != 1 {
		t.Errorf("channels = %+v", got.Channels)
	}
	if got.MinDuration != 15*time.Minute || got.Cooldown != time.Hour {
		t.Errorf("min duration %s, cooldown %s, want 15m0s and 1h0m0s", got.MinDuration, got.Cooldown)
	}
	if got.MutedUntil == nil || !got.MutedUntil.Equal(muted) {
		t.Errorf("muted until = %v, want %s", got.MutedUntil, muted)
	}
	if got.State.State != "normal" || !got.State.Since.Equal(in.CreatedAt) {
		t.Errorf("state = %+v, want normal since creation", got.State)
	}

	got.Name = "MAU under 40k"
	got.MutedUntil = nil
	got.UpdatedAt = at(3, 9, 0, 0)
	updated, err := db.UpdateAlertRule(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name != "MAU under 40k" || updated.MutedUntil != nil || !updated.UpdatedAt.Equal(at(3, 9, 0, 0)) {
		t.Errorf("updated = %+v", updated)
	}

	list, err := db.AlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("listed %d rules, want 1", len(list))
	}

	if err := db.DeleteAlertRule(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.AlertRule(ctx, created.ID)
	assertCode(t, "read after delete", err, kpi.ENOTFOUND)
}

func testAlertStateHistory(t *testing.T, open func(t *testing.T) Store) {
	db := openAlertStore(t, open)
	ctx := context.Background()

	rule, err := db.CreateAlertRule(ctx, store.AlertRule{KPIID: "mau", Name: "r", Condition: store.AlertCondition{Kind: "status"}, CreatedAt: at(2, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}

	value := 12.5
	notified := at(2, 10, 0, 0)
	st := store.AlertState{State: "firing", Since: notified, Value: &value, KPIStatus: "off_track", LastNotifiedAt: &notified, EvaluatedAt: &notified}
	events := []store.AlertEvent{
		{At: at(2, 9, 0, 0), From: "normal", To: "pending", Value: &value},
		{At: at(2, 10, 0, 0), From: "pending", To: "firing", Value: &value, Note: "notified"},
	}
	if err := db.SaveAlertState(ctx, rule.ID, st, events); err != nil {
		t.Fatal(err)
	}

	got, err := db.AlertRule(ctx, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.State != "firing" || got.State.KPIStatus != "off_track" || got.State.Value == nil || *got.State.Value != 12.5 {
		t.Errorf("state = %+v", got.State)
	}
	if got.State.LastNotifiedAt == nil || !got.State.LastNotifiedAt.Equal(notified) {
		t.Errorf("last notified = %v, want %s", got.State.LastNotifiedAt, notified)
	}

	history, err := db.AlertHistory(ctx, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 {
		t.Fatalf("history has %d events, want 2", len(history))
	}
	if history[0].To != "pending" || history[1].From != "pending" || history[1].To != "firing" || history[1].Note != "notified" {
		t.Errorf("history = %+v", history)
	}
	if !history[1].At.Equal(at(2, 10, 0, 0)) || history[1].Value == nil || *history[1].Value != 12.5 {
		t.Errorf("second event = %+v", history[1])
	}

	var rows int
	if err := db.(Inspector).QueryRow(ctx, "SELECT COUNT(*) FROM alert_history", &rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Errorf("alert_history has %d rows by plain SQL, want 2", rows)
	}
}

func testAlertRuleUnknown(t *testing.T, open func(t *testing.T) Store) {
	db := openAlertStore(t, open)
	ctx := context.Background()

	_, err := db.AlertRule(ctx, 99)
	assertCode(t, "AlertRule", err, kpi.ENOTFOUND)
	_, err = db.UpdateAlertRule(ctx, store.AlertRule{ID: 99, Name: "x"})
	assertCode(t, "UpdateAlertRule", err, kpi.ENOTFOUND)
	assertCode(t, "DeleteAlertRule", db.DeleteAlertRule(ctx, 99), kpi.ENOTFOUND)
	assertCode(t, "SaveAlertState", db.SaveAlertState(ctx, 99, store.AlertState{State: "normal"}, nil), kpi.ENOTFOUND)
	_, err = db.AlertHistory(ctx, 99)
	assertCode(t, "AlertHistory", err, kpi.ENOTFOUND)
	assertCode(t, "DeleteReportSchedule", db.DeleteReportSchedule(ctx, 99), kpi.ENOTFOUND)
}

func testDeliveries(t *testing.T, open func(t *testing.T) Store) {
	db := openAlertStore(t, open)
	ctx := context.Background()

	for i, status := range []string{"retry", "retry", "ok"} {
		d := store.Delivery{Kind: "alert", RefID: 7, Channel: "webhook", Target: "http://127.0.0.1:9/hook", Attempt: i + 1, Status: status, At: at(2, 9, 0, i)}
		if status == "retry" {
			d.Error = "HTTP 503"
		}
		if err := db.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordDelivery(ctx, store.Delivery{Kind: "report", RefID: 7, Channel: "email", Target: "a@example.com", Attempt: 1, Status: "ok", At: at(2, 9, 0, 0)}); err != nil {
		t.Fatal(err)
	}

	got, err := db.Deliveries(ctx, "alert", 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d deliveries of alert 7, want 3", len(got))
	}
	if got[0].Status != "retry" || got[0].Error != "HTTP 503" || got[2].Status != "ok" || got[2].Attempt != 3 {
		t.Errorf("deliveries = %+v", got)
	}
}

func testReportSchedules(t *testing.T, open func(t *testing.T) Store) {
	db := openAlertStore(t, open)
	ctx := context.Background()

	s, err := db.CreateReportSchedule(ctx, store.ReportSchedule{
		Name: "weekly", Cron: "0 8 * * 1", KPIIDs: []string{"mau", "nps"}, Emails: []string{"team@example.com"},
		ChatWebhook: "http://127.0.0.1:9/chat", CreatedAt: at(2, 0, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}

	ran := at(9, 8, 0, 0)
	s.LastRunAt = &ran
	if err := db.MarkReportScheduleRun(ctx, s); err != nil {
		t.Fatal(err)
	}

	list, err := db.ReportSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d schedules, want 1", len(list))
	}
	got := list[0]
	if got.Name != "weekly" || got.Cron != "0 8 * * 1" || len(got.KPIIDs) != 2 || got.KPIIDs[1] != "nps" || got.Emails[0] != "team@example.com" || got.ChatWebhook != "http://127.0.0.1:9/chat" {
		t.Errorf("schedule = %+v", got)
	}
	if got.LastRunAt == nil || !got.LastRunAt.Equal(ran) {
		t.Errorf("last run = %v, want %s", got.LastRunAt, ran)
	}

	if err := db.DeleteReportSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	list, err = db.ReportSchedules(ctx)
	if err != nil || len(list) != 0 {
		t.Errorf("after delete: %d schedules, error %v", len(list), err)
	}
}
