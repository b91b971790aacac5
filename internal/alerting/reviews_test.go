package alerting_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/notify/notifytest"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

const reviewKPIs = `workspace:
  name: Test
  time_zone: UTC
kpis:
  - id: revenue
    name: Daily revenue
    owner: ana@example.com
    review: weekly
    grain: day
    metric: {kind: measurement, series: revenue, aggregate: last}
  - id: churn
    name: Churn
    owner: Growth team
    review: weekly
    grain: day
    metric: {kind: measurement, series: churn, aggregate: last}
`

// TestReviewReminders reviews weekly KPIs on Monday 2 March 2026, so the
// next review is due on Monday 9 March. A reminder goes out that day and
// again a week later while the review is overdue. Only an owner that is an
// e-mail address gets one.
func TestReviewReminders(t *testing.T) {
	f := newFixture(t, reviewKPIs)
	ctx := context.Background()
	smtpServer := notifytest.StartSMTP(t)

	for _, id := range []string{"revenue", "churn"} {
		_, err := f.db.AddReview(ctx, kpi.Review{KPI: id, Date: timegrain.Date{Year: 2026, Month: 3, Day: 2}, Reviewer: "bo", Decision: kpi.Keep,
			CreatedAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
	}

	reviews := &alerting.Reviews{
		History: f.db, Definitions: func() *kpi.Definitions { return f.defs },
		Senders: alerting.Senders{
			Mailer:    &notify.Mailer{Addr: smtpServer.Addr, From: "northstar@example.com", TLS: notify.TLSNone},
			Deliverer: &notify.Deliverer{Recorder: f.db, Sleep: func(context.Context, time.Duration) error { return nil }},
		},
	}

	wantTotal := map[int]int{8: 0, 9: 1, 10: 1, 15: 1, 16: 2, 17: 2}
	for _, day := range []int{8, 9, 10, 15, 16, 17} {
		if err := reviews.RunDue(ctx, time.Date(2026, 3, day, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if got := len(smtpServer.Messages()); got != wantTotal[day] {
			t.Errorf("after the %dth: %d reminders, want %d", day, got, wantTotal[day])
		}
	}

	msgs := smtpServer.Messages()
	if len(msgs) == 0 {
		t.Fatal("no reminders")
	}
	if msgs[0].To[0] != "ana@example.com" {
		t.Errorf("reminder went to %v, want ana@example.com", msgs[0].To)
	}
	parsed, err := notifytest.Parse(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(parsed.Subject, "Daily revenue") || !strings.Contains(parsed.Text, "was due on 2026-03-09") ||
		!strings.Contains(parsed.Text, "last review was on 2026-03-02") {
		t.Errorf("reminder = %q / %q", parsed.Subject, parsed.Text)
	}
}
