package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// feedbackJSON is one piece of feedback in API responses.
type feedbackJSON struct {
	ID        int64     `json:"id"`
	KPIID     string    `json:"kpi_id"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

func newFeedbackJSON(f kpi.Feedback) feedbackJSON {
	return feedbackJSON{ID: f.ID, KPIID: f.KPI, Text: f.Text, Author: f.Author, Source: f.Source, CreatedAt: f.CreatedAt}
}

// feedbackRequest is the body of POST /api/v1/kpis/{id}/feedback.
type feedbackRequest struct {
	Text   string `json:"text"`
	Author string `json:"author"`
	Source string `json:"source"`
}

// handleFeedbackList serves GET /api/v1/kpis/{id}/feedback, newest first.
func (s *Server) handleFeedbackList(w http.ResponseWriter, r *http.Request) error {
	k, err := s.currentDefinitions(r).KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.inRequest(r).kpiMeta.ListFeedback(r.Context(), k.ID)
	if err != nil {
		return err
	}

	out := make([]feedbackJSON, 0, len(list))
	for _, f := range list {
		out = append(out, newFeedbackJSON(f))
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"feedback": out})
	return nil
}

// handleFeedbackCreate serves POST /api/v1/kpis/{id}/feedback.
func (s *Server) handleFeedbackCreate(w http.ResponseWriter, r *http.Request) error {
	k, err := s.currentDefinitions(r).KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req feedbackRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		return err
	}

	f, err := s.createFeedback(r, kpi.Feedback{KPI: k.ID, Text: req.Text, Author: req.Author, Source: req.Source})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, newFeedbackJSON(f))
	return nil
}

// createFeedback stores f and records it in the audit log. An empty author
// becomes the signed-in account or API token.
func (s *Server) createFeedback(r *http.Request, f kpi.Feedback) (kpi.Feedback, error) {
	p := PrincipalFrom(r.Context())
	if p != nil && strings.TrimSpace(f.Author) == "" {
		f.Author = p.Actor()
	}
	f, err := s.inRequest(r).kpiMeta.CreateFeedback(r.Context(), f)
	if err != nil {
		return f, err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "create", ObjectType: "feedback", ObjectID: strconv.FormatInt(f.ID, 10), After: newFeedbackJSON(f)})
	return f, nil
}
