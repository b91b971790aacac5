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
	"github.com/northstar-kpi/northstar/internal/report"
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
	Deliveries(ctx context.Context, kind string, refID int64) ([]store.Delivery, error)
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

	// Sections, when set, supplies the due reviews, annotations and
	// feedback that digests list.
	Sections report.SectionSource

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

// Send builds schedule s's digest at time now with report.Digest and
// delivers it to its recipients. The digest lists the reviews due today and
// the annotations and feedback added since the schedule's last run. A
// delivery failure is recorded, not returned; a digest that cannot be built
// is recorded as a failed delivery on every channel and returned.
func (r *Reports) Send(ctx context.Context, s store.ReportSchedule, now time.Time) error {
	msg, err := r.digest(ctx, s, now)
	if err != nil {
		r.recordFailure(ctx, s, err, now)
		return err
	}
	sendAll(ctx, r.Senders, "report", s.ID, store.AlertChannels{ChatWebhook: s.ChatWebhook, Emails: s.Emails}, msg)
	r.logger().Info("scheduled report sent", slog.Int64("schedule_id", s.ID))
	return nil
}

// digest builds the message of schedule s at time now.
func (r *Reports) digest(ctx context.Context, s store.ReportSchedule, now time.Time) (notify.Message, error) {
	defs := r.Definitions()
	ids := s.KPIIDs
	if s.DashboardID != "" {
		if r.DashboardKPIs == nil {
			return notify.Message{}, kpi.Errorf(kpi.EINVALID, "dashboard %s: dashboards are not available in this build", s.DashboardID)
		}
		var err error
		if ids, err = r.DashboardKPIs(ctx, s.DashboardID); err != nil {
			return notify.Message{}, err
		}
	}

	// A KPI removed from the KPI file, or one whose series fails for a
	// reason in its definition, is left out, so that the others still go.
	var items []report.Item
	for _, id := range ids {
		got, err := report.CollectItems(ctx, r.Series, defs, []string{id}, "", engine.Range{})
		if kpi.ErrorCode(err) == kpi.EINTERNAL {
			return notify.Message{}, err
		}
		if err != nil {
			r.logger().Warn("scheduled report leaves out a KPI", slog.Int64("schedule_id", s.ID), slog.String("kpi", id), slog.Any("error", err))
			continue
		}
		items = append(items, got...)
	}
	if len(items) == 0 {
		return notify.Message{}, kpi.Errorf(kpi.EINVALID, "report schedule %d: none of its KPIs (%s) can be computed", s.ID, strings.Join(ids, ", "))
	}

	in := report.DigestInput{
		Title: s.Name, Workspace: defs.Workspace.Name, GeneratedAt: now, Location: defs.Workspace.Location,
		Items: items, BaseURL: r.Senders.BaseURL,
	}
	if r.Sections != nil {
		since := s.CreatedAt
		if s.LastRunAt != nil {
			since = *s.LastRunAt
		}
		if err := in.AddSections(ctx, r.Sections, since, now); err != nil {
			return notify.Message{}, err
		}
	}
	doc, err := report.Digest(ctx, in)
	if err != nil {
		return notify.Message{}, err
	}

	msg := notify.Message{Subject: doc.Subject, Text: doc.Text, HTML: doc.HTML}
	kpis := make([]string, 0, len(items))
	for _, img := range doc.Images {
		msg.Images = append(msg.Images, notify.Image{ContentID: img.ContentID, Name: img.Filename, PNG: img.PNG})
	}
	for _, it := range items {
		kpis = append(kpis, it.KPI.ID)
	}
	msg.Payload = map[string]any{"event": "report", "schedule_id": s.ID, "title": s.Name, "at": now.UTC(), "kpi_ids": kpis, "text": doc.Text}
	return msg, nil
}

// recordFailure records a digest that could not be built as a failed
// delivery on each of the schedule's channels.
func (r *Reports) recordFailure(ctx context.Context, s store.ReportSchedule, cause error, now time.Time) {
	var channels []store.Delivery
	if s.ChatWebhook != "" {
		channels = append(channels, store.Delivery{Channel: "chat", Target: notify.RedactURL(s.ChatWebhook)})
	}
	if len(s.Emails) > 0 {
		channels = append(channels, store.Delivery{Channel: "email", Target: strings.Join(s.Emails, ", ")})
	}
	for _, d := range channels {
		d.Kind, d.RefID, d.Attempt, d.Status, d.At = "report", s.ID, 1, notify.StatusFailed, now
		d.Error = "building the digest failed: " + kpi.ErrorMessage(cause)
		if err := r.Store.RecordDelivery(ctx, d); err != nil {
			r.logger().Error("recording a delivery failed", slog.Int64("schedule_id", s.ID), slog.Any("error", err))
		}
	}
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

// Deliveries returns the delivery records of schedule id, oldest first, or
// ENOTFOUND for an unknown schedule.
func (r *Reports) Deliveries(ctx context.Context, id int64) ([]store.Delivery, error) {
	list, err := r.Store.ReportSchedules(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.ID == id {
			return r.Store.Deliveries(ctx, "report", id)
		}
	}
	return nil, kpi.Errorf(kpi.ENOTFOUND, "report schedule %d not found", id)
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
