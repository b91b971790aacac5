package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/scheduler"
	"github.com/northstar-kpi/northstar/internal/store"
)

// ScheduleStore keeps report schedules and delivery records.
type ScheduleStore interface {
	CreateReportSchedule(ctx context.Context, s store.ReportSchedule) (store.ReportSchedule, error)
	ReportSchedules(ctx context.Context) ([]store.ReportSchedule, error)
	DeleteReportSchedule(ctx context.Context, id int64) error
	MarkReportScheduleRun(ctx context.Context, s store.ReportSchedule) error
	RecordDelivery(ctx context.Context, d store.Delivery) error
}

// ScheduleInput is a report schedule as a client sends it.
type ScheduleInput struct {
	Name        string   `json:"name"`
	Cron        string   `json:"cron"`
	DashboardID string   `json:"dashboard_id"`
	KPIIDs      []string `json:"kpi_ids"`
	Emails      []string `json:"emails"`
	ChatWebhook string   `json:"chat_webhook"`
}

// Reports validates report schedules, and builds and sends the digests
// that are due.
type Reports struct {
	Store       ScheduleStore
	Series      SeriesComputer
	Definitions func() *kpi.Definitions
	Now         func() time.Time
	Senders     Senders
	Logger      *slog.Logger

	// DashboardKPIs returns the ids of the KPIs on a dashboard, or
	// ENOTFOUND. When nil, schedules of a dashboard are rejected.
	DashboardKPIs func(ctx context.Context, dashboardID string) ([]string, error)
}

// Create validates in and stores it.
func (r *Reports) Create(ctx context.Context, in ScheduleInput) (store.ReportSchedule, error) {
	defs := r.Definitions()
	s := store.ReportSchedule{
		Name: strings.TrimSpace(in.Name), Cron: strings.TrimSpace(in.Cron),
		DashboardID: strings.TrimSpace(in.DashboardID), ChatWebhook: strings.TrimSpace(in.ChatWebhook),
	}

	if _, err := scheduler.Parse(in.Cron, defs.Workspace.Location); err != nil {
		return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "cron: %s", kpi.ErrorMessage(err))
	}

	switch {
	case s.DashboardID != "" && len(in.KPIIDs) > 0:
		return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "give either dashboard_id or kpi_ids, not both")
	case s.DashboardID != "":
		if r.DashboardKPIs == nil {
			return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "dashboard_id: dashboards are not available in this build; list the KPIs in kpi_ids instead")
		}
		if _, err := r.DashboardKPIs(ctx, s.DashboardID); err != nil {
			if kpi.ErrorCode(err) == kpi.EINTERNAL {
				return store.ReportSchedule{}, err
			}
			return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "dashboard_id: %s", kpi.ErrorMessage(err))
		}
	case len(in.KPIIDs) == 0:
		return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "kpi_ids is empty and no dashboard_id is given; name the KPIs the report lists")
	}
	for i, id := range in.KPIIDs {
		if _, err := defs.KPI(id); err != nil {
			return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "kpi_ids[%d]: %s", i, kpi.ErrorMessage(err))
		}
		s.KPIIDs = append(s.KPIIDs, id)
	}

	emails, err := validateEmails("emails", in.Emails)
	if err != nil {
		return store.ReportSchedule{}, err
	}
	s.Emails = emails
	if s.ChatWebhook != "" {
		if err := notify.ValidateURL("chat_webhook", s.ChatWebhook); err != nil {
			return store.ReportSchedule{}, err
		}
	}
	if len(s.Emails) == 0 && s.ChatWebhook == "" {
		return store.ReportSchedule{}, kpi.Errorf(kpi.EINVALID, "the schedule has no recipients; give emails, a chat_webhook, or both")
	}
	if s.Name == "" {
		s.Name = "KPI digest"
	}

	s.CreatedAt = r.Now().UTC().Truncate(time.Microsecond)
	return r.Store.CreateReportSchedule(ctx, s)
}

// RunDue sends every report whose next cron time after its last run (or its
// creation) is at or before now, and marks it run at now. Runs missed while
// the server was down are sent once, not once per missed time.
func (r *Reports) RunDue(ctx context.Context, now time.Time) error {
	schedules, err := r.Store.ReportSchedules(ctx)
	if err != nil {
		return err
	}
	loc := r.Definitions().Workspace.Location

	var errs []error
	for _, s := range schedules {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sched, err := scheduler.Parse(s.Cron, loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("report schedule %d: %w", s.ID, err))
			continue
		}
		from := s.CreatedAt
		if s.LastRunAt != nil {
			from = *s.LastRunAt
		}
		if next := sched.Next(from); next.IsZero() || next.After(now) {
			continue
		}

		if err := r.Send(ctx, s, now); err != nil {
			r.logger().Error("scheduled report failed", slog.Int64("schedule_id", s.ID), slog.Any("error", err))
			errs = append(errs, fmt.Errorf("report schedule %d: %w", s.ID, err))
		}
		ran := now
		s.LastRunAt = &ran
		if err := r.Store.MarkReportScheduleRun(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Send builds schedule s's digest at time now and delivers it to its
// recipients. Delivery failures are recorded, not returned.
func (r *Reports) Send(ctx context.Context, s store.ReportSchedule, now time.Time) error {
	defs := r.Definitions()
	ids := s.KPIIDs
	if s.DashboardID != "" {
		if r.DashboardKPIs == nil {
			return kpi.Errorf(kpi.EINVALID, "dashboard %s: dashboards are not available in this build", s.DashboardID)
		}
		var err error
		if ids, err = r.DashboardKPIs(ctx, s.DashboardID); err != nil {
			return err
		}
	}

	items := make([]DigestItem, 0, len(ids))
	for _, id := range ids {
		k, err := defs.KPI(id)
		if err != nil {
			items = append(items, DigestItem{KPI: &kpi.KPI{ID: id, Name: id}, Err: kpi.ErrorMessage(err)})
			continue
		}
		series, err := r.Series.Series(ctx, defs, k.ID, k.Grain, engine.Range{})
		if kpi.ErrorCode(err) == kpi.EINTERNAL {
			return err
		}
		if err != nil {
			items = append(items, DigestItem{KPI: k, Err: kpi.ErrorMessage(err)})
			continue
		}
		items = append(items, DigestItem{KPI: k, Series: series})
	}

	msg, err := BuildDigest(s.Name, items, now, defs.Workspace.Location)
	if err != nil {
		return err
	}
	sendAll(ctx, r.Senders, "report", s.ID, store.AlertChannels{ChatWebhook: s.ChatWebhook, Emails: s.Emails}, msg)
	r.logger().Info("scheduled report sent", slog.Int64("schedule_id", s.ID), slog.Int("kpis", len(items)))
	return nil
}

func (r *Reports) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// List returns every report schedule, oldest first.
func (r *Reports) List(ctx context.Context) ([]store.ReportSchedule, error) {
	return r.Store.ReportSchedules(ctx)
}

// Delete deletes schedule id, or returns ENOTFOUND.
func (r *Reports) Delete(ctx context.Context, id int64) error {
	return r.Store.DeleteReportSchedule(ctx, id)
}

// NextRun returns the next time schedule s is due, after its last run or
// its creation, and false when its cron expression no longer parses.
func (r *Reports) NextRun(s store.ReportSchedule) (time.Time, bool) {
	sched, err := scheduler.Parse(s.Cron, r.Definitions().Workspace.Location)
	if err != nil {
		return time.Time{}, false
	}
	from := s.CreatedAt
	if s.LastRunAt != nil {
		from = *s.LastRunAt
	}
	next := sched.Next(from)
	return next.UTC(), !next.IsZero()
}
