package alerting_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/notify/notifytest"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

const berlinKPIs = `workspace:
  name: Test
  time_zone: Europe/Berlin
kpis:
  - id: revenue
    name: Daily revenue
    unit: USD
    grain: day
    review: weekly
    metric: {kind: measurement, series: revenue, aggregate: last}
  - id: signups
    name: Sign-ups
    grain: day
    metric: {kind: measurement, series: signups, aggregate: sum}
`

func newReports(t *testing.T, f *fixture, mailer *notify.Mailer) *alerting.Reports {
	t.Helper()
	clock := func() time.Time { return f.now }
	return &alerting.Reports{
		Store: f.db, Series: engine.New(f.db, clock), Definitions: func() *kpi.Definitions { return f.defs }, Now: clock, Sections: f.db,
		Senders: alerting.Senders{Mailer: mailer, Deliverer: &notify.Deliverer{Recorder: f.db, Now: clock, Sleep: func(context.Context, time.Duration) error { return nil }}},
	}
}

// TestScheduledReportByEmailAndChat sends a Monday 08:00 Berlin digest to an
// SMTP server and a chat receiver on 127.0.0.1.
func TestScheduledReportByEmailAndChat(t *testing.T) {
	f := newFixture(t, berlinKPIs)
	ctx := context.Background()
	smtpServer := notifytest.StartSMTP(t)

	var (
		mu    sync.Mutex
		chats []map[string]any
	)
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		chats = append(chats, body)
		mu.Unlock()
	}))
	defer chat.Close()

	for day, v := range map[int]float64{5: 1200, 6: 1350.5, 7: 1100, 8: 1420.25} {
		f.measure(t, day, v)
	}
	_, err := f.db.InsertMeasurements(ctx, []store.Measurement{
		// The revenue so far on Monday the 9th, before the report at 07:00 UTC.
		{Series: "revenue", Timestamp: time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC), Value: 1515, Source: "test", MessageID: "r9"},
		{Series: "signups", Timestamp: time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC), Value: 37, Source: "test", MessageID: "s1"},
		{Series: "signups", Timestamp: time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC), Value: 5, Source: "test", MessageID: "s2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// An external factor after the schedule's creation, and one before it,
	// which the first digest leaves out.
	for _, a := range []kpi.Annotation{
		{KPI: "revenue", Kind: kpi.External, Date: timegrain.Date{Year: 2026, Month: 3, Day: 6}, Note: "Competitor cut prices"},
		{Kind: kpi.Release, Date: timegrain.Date{Year: 2026, Month: 2, Day: 20}, Note: "Old release"},
	} {
		if _, err := f.db.CreateAnnotation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	// Thursday 2026-03-05.
	f.now = time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	reports := newReports(t, f, &notify.Mailer{Addr: smtpServer.Addr, From: "northstar@example.com", TLS: notify.TLSNone})
	sched, err := reports.Create(ctx, alerting.ScheduleInput{
		Name: "Weekly KPIs", Cron: "0 8 * * 1", KPIIDs: []string{"revenue", "signups"},
		Emails: []string{"team@example.com"}, ChatWebhook: chat.URL + "/services/T/B/X",
	})
	if err != nil {
		t.Fatal(err)
	}

	// Monday 2026-03-09 08:00 in Berlin (UTC+1) is 07:00 UTC.
	due := time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)
	for _, step := range []time.Time{due.Add(-time.Minute), due, due.Add(time.Minute), due.Add(24 * time.Hour)} {
		f.now = step
		if err := reports.RunDue(ctx, step); err != nil {
			t.Fatal(err)
		}
		wantSent := 0
		if !step.Before(due) {
			wantSent = 1
		}
		if got := len(smtpServer.Messages()); got != wantSent {
			t.Fatalf("at %s the SMTP server has %d messages, want %d", step, got, wantSent)
		}
	}

	parsed, err := notifytest.Parse(smtpServer.Messages()[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(parsed.Subject, "Weekly KPIs") || !strings.Contains(parsed.Subject, "2026-03-09") {
		t.Errorf("subject = %q", parsed.Subject)
	}
	// The digest shows each KPI's current period, Monday the 9th so far:
	// revenue's last value 1515 and sign-ups 37 + 5 = 42. Revenue changed
	// between the last two complete days by (1420.25 - 1100) / 1100 = +29.1 %.
	// Its weekly review was never recorded, so it is due.
	for _, want := range []string{"Daily revenue", "1,515", "29.1%", "Sign-ups", ">42<", "Competitor cut prices", "Reviews due"} {
		if !strings.Contains(parsed.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, parsed.HTML)
		}
	}
	if strings.Contains(parsed.HTML, "Old release") {
		t.Error("the digest lists an annotation dated before the schedule was created")
	}
	if !strings.Contains(parsed.Text, "1,515") || !strings.Contains(parsed.Text, "Competitor cut prices") {
		t.Errorf("text part = %q", parsed.Text)
	}
	if len(parsed.Images) != 2 {
		t.Fatalf("%d images, want one chart per KPI", len(parsed.Images))
	}
	for cid, data := range parsed.Images {
		if !strings.Contains(parsed.HTML, `src="cid:`+cid+`"`) {
			t.Errorf("HTML does not refer to image %s", cid)
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("image %s does not decode as PNG: %v", cid, err)
		}
	}

	if len(chats) != 1 {
		t.Fatalf("chat received %d messages, want 1", len(chats))
	}
	if text, _ := chats[0]["text"].(string); !strings.Contains(text, "Weekly KPIs") {
		t.Errorf("chat text = %v", chats[0]["text"])
	}

	deliveries, err := f.db.Deliveries(ctx, "report", sched.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 2 {
		t.Errorf("deliveries = %+v, want chat and email", deliveries)
	}
	for _, d := range deliveries {
		if d.Status != "ok" || !d.At.Equal(due) {
			t.Errorf("delivery %+v, want ok at %s", d, due)
		}
	}
}

// TestScheduledReportWithoutSMTP records the failure of an e-mail report
// when no SMTP server is configured.
func TestScheduledReportWithoutSMTP(t *testing.T) {
	f := newFixture(t, berlinKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	reports := newReports(t, f, nil)
	sched, err := reports.Create(ctx, alerting.ScheduleInput{Cron: "@daily", KPIIDs: []string{"revenue"}, Emails: []string{"team@example.com"}})
	if err != nil {
		t.Fatal(err)
	}

	f.now = time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)
	if err := reports.RunDue(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	deliveries, err := f.db.Deliveries(ctx, "report", sched.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 1 || deliveries[0].Status != "failed" || !strings.Contains(deliveries[0].Error, "--smtp-addr") {
		t.Errorf("deliveries = %+v, want one failure naming --smtp-addr", deliveries)
	}
}

func TestReportScheduleRejectsBadInput(t *testing.T) {
	f := newFixture(t, berlinKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	reports := newReports(t, f, nil)

	tests := []struct {
		name string
		in   alerting.ScheduleInput
		want string
	}{
		{"invalid cron", alerting.ScheduleInput{Cron: "0 8 * * funday", KPIIDs: []string{"revenue"}, Emails: []string{"a@example.com"}}, `"0 8 * * funday" is invalid`},
		{"unknown KPI", alerting.ScheduleInput{Cron: "0 8 * * 1", KPIIDs: []string{"revenue", "mrr"}, Emails: []string{"a@example.com"}}, `KPI "mrr" not found`},
		{"ftp chat webhook", alerting.ScheduleInput{Cron: "0 8 * * 1", KPIIDs: []string{"revenue"}, ChatWebhook: "ftp://127.0.0.1/x"}, `scheme "ftp"`},
		{"no recipients", alerting.ScheduleInput{Cron: "0 8 * * 1", KPIIDs: []string{"revenue"}}, "no recipients"},
		{"bad e-mail", alerting.ScheduleInput{Cron: "0 8 * * 1", KPIIDs: []string{"revenue"}, Emails: []string{"team"}}, `emails[0] "team"`},
		{"no KPIs", alerting.ScheduleInput{Cron: "0 8 * * 1", Emails: []string{"a@example.com"}}, "kpi_ids is empty"},
		{"dashboard unavailable", alerting.ScheduleInput{Cron: "0 8 * * 1", DashboardID: "1", Emails: []string{"a@example.com"}}, "dashboard_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reports.Create(ctx, tt.in)
			if kpi.ErrorCode(err) != kpi.EINVALID {
				t.Fatalf("error = %v, want an invalid error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	list, err := f.db.ReportSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d schedules stored after rejected input, want 0", len(list))
	}
}

// TestScheduledReportOfRemovedKPIs records a failed delivery when none of
// a schedule's KPIs exists any more.
func TestScheduledReportOfRemovedKPIs(t *testing.T) {
	f := newFixture(t, berlinKPIs)
	ctx := context.Background()
	f.now = time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	reports := newReports(t, f, nil)
	sched, err := reports.Create(ctx, alerting.ScheduleInput{Cron: "@daily", KPIIDs: []string{"signups"}, ChatWebhook: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}

	// The KPI file no longer defines signups.
	if f.defs, err = kpi.Parse("kpis.yaml", []byte(revenueKPIs)); err != nil {
		t.Fatal(err)
	}
	f.now = time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)
	if err := reports.RunDue(ctx, f.now); err == nil {
		t.Error("RunDue returned no error for a digest that could not be built")
	}
	deliveries, err := f.db.Deliveries(ctx, "report", sched.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 1 || deliveries[0].Status != "failed" || !strings.Contains(deliveries[0].Error, "none of its KPIs (signups)") {
		t.Errorf("deliveries = %+v, want one failure naming the KPIs", deliveries)
	}
}
