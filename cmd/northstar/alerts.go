package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/report"
	"github.com/northstar-kpi/northstar/internal/scheduler"
	"github.com/northstar-kpi/northstar/internal/store"
)

// alertStore is the storage of alert rules, their history, deliveries and
// report schedules.
type alertStore interface {
	alerting.RuleStore
	alerting.ScheduleStore
}

// smtpFlags are serve's e-mail settings.
type smtpFlags struct {
	addr, from, username, password, tls string
}

func addSMTPFlags(cmd *cobra.Command, f *smtpFlags) {
	cmd.Flags().StringVar(&f.addr, "smtp-addr", envOr("NORTHSTAR_SMTP_ADDR", ""), "SMTP server for alert and report e-mail, as HOST:PORT; none when empty (env NORTHSTAR_SMTP_ADDR)")
	cmd.Flags().StringVar(&f.from, "smtp-from", envOr("NORTHSTAR_SMTP_FROM", ""), "sender address of alert and report e-mail (env NORTHSTAR_SMTP_FROM)")
	cmd.Flags().StringVar(&f.username, "smtp-username", envOr("NORTHSTAR_SMTP_USERNAME", ""), "SMTP user name; no authentication when empty (env NORTHSTAR_SMTP_USERNAME)")
	cmd.Flags().StringVar(&f.tls, "smtp-tls", envOr("NORTHSTAR_SMTP_TLS", notify.TLSStartTLS), "SMTP encryption: starttls, tls or none (env NORTHSTAR_SMTP_TLS)")
	// The password comes from the environment only, so that it does not show
	// in the process list.
	f.password = envOr("NORTHSTAR_SMTP_PASSWORD", "")
}

// mailer returns the configured mailer, nil when no server is set, or an
// EINVALID error for incomplete settings.
func (f smtpFlags) mailer() (*notify.Mailer, error) {
	if f.addr == "" {
		return nil, nil
	}
	m := &notify.Mailer{Addr: f.addr, From: f.from, Username: f.username, Password: f.password, TLS: f.tls}
	if err := m.Validate(); err != nil {
		return nil, &usageError{err}
	}
	return m, nil
}

// Schedules of the jobs serve runs. Alert rules are evaluated and report
// schedules checked every minute; each report follows its own cron
// expression. The review job runs every hour, and sends each workspace's
// reminders when it is reviewHour in that workspace's time zone.
const (
	alertJobSpec  = "* * * * *"
	reportJobSpec = "* * * * *"
	reviewJobSpec = "0 * * * *"
)

// reviewHour is the hour of the day, in each workspace's own time zone, at
// which review reminders go out.
const reviewHour = 9

// reviewsDue reports whether the review job run at at sends the reminders
// of a workspace whose days count in loc.
func reviewsDue(at time.Time, loc *time.Location) bool {
	if loc == nil {
		loc = time.UTC
	}
	return at.In(loc).Hour() == reviewHour
}

// workspaceAlerts are the alert and report services of one workspace, and
// the scheduled jobs that run them, by job name.
type workspaceAlerts struct {
	rules   *alerting.Rules
	reports *alerting.Reports
	jobs    map[string]scheduler.JobFunc
}

// alertJobSpecs are the cron expressions of the scheduled jobs, by name.
var alertJobSpecs = map[string]string{
	"alerts":  alertJobSpec,
	"reports": reportJobSpec,
	"reviews": reviewJobSpec,
}

// newWorkspaceAlerts builds the alert and report services of the workspace
// that db reads and writes, with the definitions and series of the same
// workspace.
func newWorkspaceAlerts(db interface {
	alertStore
	dashboardReader
}, definitions func() *kpi.Definitions, series alerting.SeriesComputer,
	mailer *notify.Mailer, baseURL string, now func() time.Time, logger *slog.Logger) workspaceAlerts {
	senders := alerting.Senders{
		Deliverer: &notify.Deliverer{Recorder: db, Retry: notify.DefaultRetry, Now: now, Logger: logger},
		Mailer:    mailer,
		BaseURL:   baseURL,
	}

	wa := workspaceAlerts{
		rules: &alerting.Rules{Store: db, Definitions: definitions, Now: now},
		reports: &alerting.Reports{
			Store: db, Series: series, Definitions: definitions, Now: now, Senders: senders, Logger: logger,
			DashboardKPIs: dashboardKPIs(db), Sections: digestSections(db),
		},
	}
	evaluator := &alerting.Evaluator{Store: db, Series: series, Definitions: definitions, Senders: senders, Logger: logger}
	wa.jobs = map[string]scheduler.JobFunc{"alerts": evaluator.Evaluate, "reports": wa.reports.RunDue}
	if history, ok := reviewHistory(db); ok {
		reviews := &alerting.Reviews{History: history, Definitions: definitions, Senders: senders, Logger: logger}
		wa.jobs["reviews"] = reviews.RunDue
	}
	return wa
}

// newAlertScheduler returns the scheduler of alert evaluation, reports and
// review reminders, with cron expressions in loc, the default workspace's
// time zone. Each job runs in every workspace in turn; review reminders go
// out at reviewHour in each workspace's own zone.
func newAlertScheduler(reg *workspaceRegistry, loc *time.Location, now func() time.Time, logger *slog.Logger) (*scheduler.Scheduler, error) {
	sched := scheduler.New(loc, now, logger)
	for _, name := range []string{"alerts", "reports", "reviews"} {
		if err := sched.Add(name, alertJobSpecs[name], func(ctx context.Context, at time.Time) error {
			return reg.runJob(ctx, name, at)
		}); err != nil {
			return nil, err
		}
	}
	return sched, nil
}

// reviewHistory returns the store's review history.
func reviewHistory(db any) (alerting.ReviewHistory, bool) {
	h, ok := unwrapStore(db).(alerting.ReviewHistory)
	return h, ok
}

// digestSections returns the store's annotations, feedback and reviews.
func digestSections(db any) report.SectionSource {
	s, _ := unwrapStore(db).(report.SectionSource)
	return s
}

// unwrapStore looks through the activity index's wrapper, which passes on
// only the appStore methods.
func unwrapStore(db any) any {
	if w, ok := db.(*indexedStore); ok {
		return w.appStore
	}
	return db
}

// dashboardReader reads one dashboard with its widgets.
type dashboardReader interface {
	Dashboard(ctx context.Context, id int64) (store.Dashboard, error)
}

// dashboardKPIs returns the function that lists the KPIs on a dashboard's
// widgets, each once, in layout order.
func dashboardKPIs(db dashboardReader) func(ctx context.Context, id string) ([]string, error) {
	return func(ctx context.Context, id string) ([]string, error) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return nil, kpi.Errorf(kpi.ENOTFOUND, "dashboard %q not found (dashboard ids are positive integers)", id)
		}
		d, err := db.Dashboard(ctx, n)
		if err != nil {
			return nil, err
		}

		var ids []string
		seen := map[string]bool{}
		for _, w := range d.Widgets {
			for _, k := range w.KPIs {
				if !seen[k] {
					seen[k] = true
					ids = append(ids, k)
				}
			}
		}
		if len(ids) == 0 {
			return nil, kpi.Errorf(kpi.EINVALID, "dashboard %d (%s) shows no KPIs; add KPI widgets or list kpi_ids instead", d.ID, d.Name)
		}
		return ids, nil
	}
}

// startScheduler runs sched in the background until stopScheduler.
func (m *Main) startScheduler(sched *scheduler.Scheduler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.stopJobs = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		_ = sched.Run(ctx)
	}()
}

// stopScheduler cancels the scheduler and waits for the jobs in flight.
func (m *Main) stopScheduler() {
	if m.stopJobs != nil {
		m.stopJobs()
		m.stopJobs = nil
	}
}
