package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/store"
)

func (s *Server) registerReportScheduleRoutes() {
	if s.defaultWorkspace.reports == nil {
		return
	}
	s.register("GET /api/v1/reports/schedules", AccessViewer, s.handle(s.handleScheduleList))
	s.register("POST /api/v1/reports/schedules", AccessEditor, s.handle(s.handleScheduleCreate))
	s.register("DELETE /api/v1/reports/schedules/{id}", AccessEditor, s.handle(s.handleScheduleDelete))
	s.register("GET /api/v1/reports/schedules/{id}/deliveries", AccessViewer, s.handle(s.handleScheduleDeliveries))
}

// reportScheduleJSON is a report schedule in the API.
type reportScheduleJSON struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Cron        string     `json:"cron"`
	TimeZone    string     `json:"time_zone"`
	DashboardID string     `json:"dashboard_id,omitempty"`
	KPIIDs      []string   `json:"kpi_ids"`
	Emails      []string   `json:"emails"`
	ChatWebhook string     `json:"chat_webhook,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	LastRunAt   *time.Time `json:"last_run_at"`
	NextRunAt   *time.Time `json:"next_run_at"`
}

func (s *Server) newReportScheduleJSON(ctx context.Context, sc store.ReportSchedule) reportScheduleJSON {
	out := reportScheduleJSON{
		ID: sc.ID, Name: sc.Name, Cron: sc.Cron, DashboardID: sc.DashboardID, KPIIDs: sc.KPIIDs, Emails: sc.Emails,
		ChatWebhook: redactChatURL(sc.ChatWebhook), CreatedAt: sc.CreatedAt, LastRunAt: sc.LastRunAt,
	}
	if loc := s.definitionsIn(ctx).Workspace.Location; loc != nil {
		out.TimeZone = loc.String()
	} else {
		out.TimeZone = "UTC"
	}
	if next, ok := s.in(ctx).reports.NextRun(sc); ok {
		out.NextRunAt = &next
	}
	if out.KPIIDs == nil {
		out.KPIIDs = []string{}
	}
	if out.Emails == nil {
		out.Emails = []string{}
	}
	return out
}

func (s *Server) handleScheduleList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.inRequest(r).reports.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Schedules []reportScheduleJSON `json:"schedules"`
	}{Schedules: make([]reportScheduleJSON, 0, len(list))}
	for _, sc := range list {
		out.Schedules = append(out.Schedules, s.newReportScheduleJSON(r.Context(), sc))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleScheduleCreate(w http.ResponseWriter, r *http.Request) error {
	var in alerting.ScheduleInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	sc, err := s.inRequest(r).reports.Create(r.Context(), in)
	if err != nil {
		return err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "create", ObjectType: "report_schedule", ObjectID: strconv.FormatInt(sc.ID, 10),
		After: s.newReportScheduleJSON(r.Context(), sc)})
	w.Header().Set("Location", fmt.Sprintf("/api/v1/reports/schedules/%d", sc.ID))
	s.writeJSON(w, r, http.StatusCreated, s.newReportScheduleJSON(r.Context(), sc))
	return nil
}

func (s *Server) handleScheduleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "report schedule")
	if err != nil {
		return err
	}
	var before any
	if list, err := s.inRequest(r).reports.List(r.Context()); err == nil {
		for _, sc := range list {
			if sc.ID == id {
				before = s.newReportScheduleJSON(r.Context(), sc)
			}
		}
	}
	if err := s.inRequest(r).reports.Delete(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "delete", ObjectType: "report_schedule", ObjectID: strconv.FormatInt(id, 10), Before: before})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleScheduleDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "report schedule")
	if err != nil {
		return err
	}
	list, err := s.inRequest(r).reports.Deliveries(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}{Deliveries: newDeliveriesJSON(list)})
	return nil
}
