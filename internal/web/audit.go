package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Limits of the audit log API.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

func (s *Server) registerAuditRoutes() {
	s.register("GET /api/v1/audit", AccessAdmin, s.handle(s.handleAuditLog))
	s.register("GET /admin/audit", AccessAdmin, s.handle(s.handleAuditPage))
	s.register("GET /api/v1/members", AccessAdmin, s.handle(s.handleMembers))
	s.register("PUT /api/v1/members/{email}", AccessAdmin, s.handle(s.handleSetMember))
	s.register("DELETE /api/v1/members/{email}", AccessAdmin, s.handle(s.handleRemoveMember))
	s.registerMemberPageRoutes()
	s.registerTokenRoutes()
	s.registerWriteKeyRoutes()
}

// RecordChange appends a change made by request r to the audit log of r's
// workspace, naming r's principal as the actor. It fills e.WorkspaceID and
// e.Actor. Call it after the change is stored; a store that can write the
// entry in the change's own transaction should use
// auth.AuditEntry.InsertStatement instead.
func (s *Server) RecordChange(r *http.Request, e auth.AuditEntry) error {
	return s.recordChangeIn(r.Context(), e)
}

// auditChange records e like RecordChange, for the principal of ctx. A
// failure is logged, not returned, because the change is already stored.
// NOTE: so a change can be stored without its entry when the audit insert
// fails; stores that take a transaction should use InsertStatement.
func (s *Server) auditChange(ctx context.Context, e auth.AuditEntry) {
	if err := s.recordChangeIn(ctx, e); err != nil {
		s.logger.ErrorContext(ctx, "recording a change in the audit log failed", slog.String("action", e.Action),
			slog.String("object_type", e.ObjectType), slog.String("object_id", e.ObjectID), slog.Any("error", err))
	}
}

func (s *Server) recordChangeIn(ctx context.Context, e auth.AuditEntry) error {
	p := PrincipalFrom(ctx)
	if p == nil {
		return kpi.Errorf(kpi.EINTERNAL, "audit %s %s %q: the request has no principal", e.Action, e.ObjectType, e.ObjectID)
	}
	if s.auth == nil {
		return kpi.Errorf(kpi.EINTERNAL, "audit %s %s %q: the server has no account store", e.Action, e.ObjectType, e.ObjectID)
	}
	e.WorkspaceID = p.WorkspaceID
	e.Actor = p.Actor()
	return s.auth.Record(ctx, e)
}

// storedKPIDefinition returns the stored JSON definition of the KPI made in
// the UI with the given id, or nil when there is none, for audit entries.
func (s *Server) storedKPIDefinition(ctx context.Context, id string) json.RawMessage {
	list, err := s.in(ctx).kpiMeta.ListKPIs(ctx)
	if err != nil {
		return nil
	}
	for _, k := range list {
		if k.ID == id {
			return json.RawMessage(k.Definition)
		}
	}
	return nil
}

// auditQuery reads the limit and before parameters of an audit log request.
func auditQuery(r *http.Request) (limit int, before int64, err error) {
	limit = defaultAuditLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			return 0, 0, kpi.Errorf(kpi.EINVALID, "limit %q is not a number from 1 to %d", v, maxAuditLimit)
		}
		limit = n
	}
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, kpi.Errorf(kpi.EINVALID, "before %q is not an audit entry id (a positive integer)", v)
		}
		before = n
	}
	return limit, before, nil
}

// handleAuditLog serves GET /api/v1/audit?limit=N&before=ID: the newest
// entries of the workspace's audit log first.
func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request) error {
	limit, before, err := auditQuery(r)
	if err != nil {
		return err
	}
	entries, err := s.auth.AuditLog(r.Context(), workspaceOf(r), before, limit)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"entries": entries})
	return nil
}

// auditPage is the data of templates/audit.html.
type auditPage struct {
	pageBase
	Entries []auditRow
	Next    int64 // the before parameter of the next page, or 0
}

type auditRow struct {
	auth.AuditEntry
	When   string
	Before string
	After  string
}

func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request) error {
	limit, before, err := auditQuery(r)
	if err != nil {
		return err
	}
	entries, err := s.auth.AuditLog(r.Context(), workspaceOf(r), before, limit)
	if err != nil {
		return err
	}

	page := auditPage{pageBase: s.newPageBase(r, "Audit log")}
	for _, e := range entries {
		page.Entries = append(page.Entries, auditRow{AuditEntry: e, When: formatAsOf(e.At), Before: rawJSON(e.Before), After: rawJSON(e.After)})
	}
	if len(entries) == limit {
		page.Next = entries[len(entries)-1].ID
	}
	return s.renderPage(w, r, http.StatusOK, "audit", page)
}

func rawJSON(v any) string {
	if raw, ok := v.(json.RawMessage); ok {
		return string(raw)
	}
	return ""
}

func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) error {
	members, err := s.auth.Members(r.Context(), workspaceOf(r))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"members": members})
	return nil
}

// memberRequest is the body of PUT /api/v1/members/{email}.
type memberRequest struct {
	Role string `json:"role"`
}

// handleSetMember adds the account named in the path to the workspace, or
// changes its role.
func (s *Server) handleSetMember(w http.ResponseWriter, r *http.Request) error {
	var req memberRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return kpi.Errorf(kpi.EINVALID, "the body is not a JSON object like {\"role\": \"editor\"}: %v", err)
	}
	role, err := auth.ParseRole(strings.TrimSpace(req.Role))
	if err != nil {
		return err
	}

	p := PrincipalFrom(r.Context())
	m, err := s.auth.SetMember(r.Context(), p.WorkspaceID, r.PathValue("email"), role, p.Actor())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, m)
	return nil
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if err := s.auth.RemoveMember(r.Context(), p.WorkspaceID, r.PathValue("email"), p.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
