package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// TargetStore keeps the target revisions, reviews and review cadences made
// through the API. KPIHistory returns an empty History for a KPI with none.
// The Add and Set methods return EINVALID for input they cannot store, and
// then store nothing.
type TargetStore interface {
	engine.HistoryReader
	AddTargetRevision(ctx context.Context, r kpi.TargetRevision) (kpi.TargetRevision, error)
	AddReview(ctx context.Context, r kpi.Review) (kpi.Review, error)
	SetReviewCadence(ctx context.Context, id string, c kpi.Cadence, at time.Time) error
}

// maxTargetBody bounds the JSON body of a target, review or cadence request.
const maxTargetBody = 64 << 10

func (s *Server) registerTargetRoutes() {
	s.register("GET /api/v1/kpis/{id}/targets", AccessViewer, s.handle(s.handleTargetList))
	s.register("POST /api/v1/kpis/{id}/targets", AccessEditor, s.handle(s.handleTargetCreate))
	s.register("GET /api/v1/kpis/{id}/reviews", AccessViewer, s.handle(s.handleReviewList))
	s.register("POST /api/v1/kpis/{id}/reviews", AccessEditor, s.handle(s.handleReviewCreate))
	s.register("PUT /api/v1/kpis/{id}/review", AccessEditor, s.handle(s.handleReviewCadence))
}

// targetRevisionJSON is one revision of a KPI's target.
type targetRevisionJSON struct {
	ID          int64           `json:"id,omitempty"`
	Value       *float64        `json:"value"`
	Change      *float64        `json:"change"` // a fraction: 0.2 for +20 %
	By          string          `json:"by"`
	Milestones  []milestoneJSON `json:"milestones"`
	AppliesFrom string          `json:"applies_from"` // "" for the KPI file's first target, in force from the start
	Author      string          `json:"author"`
	Reason      string          `json:"reason"`
	Source      string          `json:"source"` // "file" or "api"
	CreatedAt   *time.Time      `json:"created_at"`
	InForce     bool            `json:"in_force"` // whether the revision applies today
}

type milestoneJSON struct {
	Date  string  `json:"date"`
	Value float64 `json:"value"`
}

// targetList is the body of GET /api/v1/kpis/{id}/targets.
type targetList struct {
	KPI     string               `json:"kpi"`
	Targets []targetRevisionJSON `json:"targets"`
}

func newTargetRevisionJSON(r kpi.TargetRevision, inForce bool) targetRevisionJSON {
	out := targetRevisionJSON{
		ID: r.ID, Value: r.Target.Value, Change: r.Target.Change, By: r.Target.By.String(),
		Milestones: []milestoneJSON{}, Author: r.Author, Reason: r.Reason, Source: r.Source, InForce: inForce,
	}
	if !r.AppliesFrom.IsZero() {
		out.AppliesFrom = r.AppliesFrom.String()
	}
	if !r.CreatedAt.IsZero() {
		at := r.CreatedAt
		out.CreatedAt = &at
	}
	for _, m := range r.Target.Milestones {
		out.Milestones = append(out.Milestones, milestoneJSON{Date: m.By.String(), Value: m.Value})
	}
	return out
}

// kpiHistory returns what the target store keeps about the KPI id, or an
// empty History when the server has no target store.
func (s *Server) kpiHistory(ctx context.Context, id string) (kpi.History, error) {
	if s.in(ctx).targets == nil {
		return kpi.History{}, nil
	}
	return s.in(ctx).targets.KPIHistory(ctx, id)
}

// today returns the date of now in the workspace's time zone.
func (s *Server) today(defs *kpi.Definitions) timegrain.Date {
	loc := defs.Workspace.Location
	if loc == nil {
		loc = time.UTC
	}
	return timegrain.DateOf(s.now().In(loc))
}

// handleTargetList serves GET /api/v1/kpis/{id}/targets: every target the
// KPI has had, in the order they apply.
func (s *Server) handleTargetList(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	h, err := s.kpiHistory(r.Context(), k.ID)
	if err != nil {
		return err
	}

	revisions := kpi.TargetRevisions(k, h)
	inForce := kpi.TargetInForce(revisions, s.now(), defs.Workspace.Location)
	list := targetList{KPI: k.ID, Targets: make([]targetRevisionJSON, 0, len(revisions))}
	for i, rev := range revisions {
		list.Targets = append(list.Targets, newTargetRevisionJSON(rev, i == inForce))
	}
	s.writeJSON(w, r, http.StatusOK, list)
	return nil
}

// targetRequest is the body of POST /api/v1/kpis/{id}/targets, and the
// target of a review that adjusts it. Value and change are kept raw so that
// a value written as a string ("NaN") gets a clear message.
type targetRequest struct {
	Value       json.RawMessage    `json:"value"`
	Change      json.RawMessage    `json:"change"`
	By          string             `json:"by"`
	AppliesFrom string             `json:"applies_from"`
	Reason      string             `json:"reason"`
	Author      string             `json:"author"`
	Milestones  []milestoneRequest `json:"milestones"`
}

type milestoneRequest struct {
	Date  string          `json:"date"`
	Value json.RawMessage `json:"value"`
}

// handleTargetCreate serves POST /api/v1/kpis/{id}/targets: it stores a new
// revision of the KPI's target.
func (s *Server) handleTargetCreate(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.requireTargetStore(r.Context()); err != nil {
		return err
	}

	var req targetRequest
	if err := readTargetsJSON(w, r, &req); err != nil {
		return err
	}
	stored, err := s.recordTargetRevision(r, defs, k, req)
	if err != nil {
		return err
	}

	inForce, err := s.revisionInForce(r, defs, k, stored.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/kpis/"+url.PathEscape(k.ID)+"/targets")
	s.writeJSON(w, r, http.StatusCreated, newTargetRevisionJSON(stored, inForce))
	return nil
}

// revisionInForce reports whether k's stored revision id is the one in force
// now, as GET /api/v1/kpis/{id}/targets marks it: a revision that applies
// from today in the workspace's time zone is in force unless a later one is.
func (s *Server) revisionInForce(r *http.Request, defs *kpi.Definitions, k *kpi.KPI, id int64) (bool, error) {
	current, err := s.targetInForce(r, defs, k)
	if err != nil {
		return false, err
	}
	return current != nil && current.ID == id, nil
}

// recordTargetRevision stores the revision of k's target that req describes,
// and records the change in the audit log. The author is the signed-in
// account or API token unless req names one.
func (s *Server) recordTargetRevision(r *http.Request, defs *kpi.Definitions, k *kpi.KPI, req targetRequest) (kpi.TargetRevision, error) {
	rev, err := req.revision(k, s.today(defs), "")
	if err != nil {
		return rev, err
	}
	rev.Author = strings.TrimSpace(req.Author)
	if rev.Author == "" {
		rev.Author = actorName(r)
	}
	rev.CreatedAt = s.now().UTC()

	before, err := s.targetInForce(r, defs, k)
	if err != nil {
		return rev, err
	}
	stored, err := s.inRequest(r).targets.AddTargetRevision(r.Context(), rev)
	if err != nil {
		return stored, err
	}
	s.auditTargetChange(r, k, before, stored)
	return stored, nil
}

// actorName returns who made request r: the signed-in account's address or
// "token:NAME", or "" when the request has no principal.
func actorName(r *http.Request) string {
	if p := PrincipalFrom(r.Context()); p != nil {
		return p.Actor()
	}
	return ""
}

// targetInForce returns k's target revision in force now, or nil when it
// has none, for the "before" of an audit entry.
func (s *Server) targetInForce(r *http.Request, defs *kpi.Definitions, k *kpi.KPI) (*targetRevisionJSON, error) {
	h, err := s.kpiHistory(r.Context(), k.ID)
	if err != nil {
		return nil, err
	}
	revisions := kpi.TargetRevisions(k, h)
	i := kpi.TargetInForce(revisions, s.now(), defs.Workspace.Location)
	if i < 0 {
		return nil, nil
	}
	before := newTargetRevisionJSON(revisions[i], true)
	return &before, nil
}

// auditTargetChange records a new revision of k's target in the audit log,
// with the target in force before it.
func (s *Server) auditTargetChange(r *http.Request, k *kpi.KPI, before *targetRevisionJSON, after kpi.TargetRevision) {
	entry := auth.AuditEntry{Action: "update", ObjectType: "target", ObjectID: k.ID, After: newTargetRevisionJSON(after, false)}
	if before != nil {
		entry.Before = before
	}
	s.auditChange(r.Context(), entry)
}

// revision converts the request into a revision of k's target. applies_from
// defaults to today, and reason to defaultReason.
func (req targetRequest) revision(k *kpi.KPI, today timegrain.Date, defaultReason string) (kpi.TargetRevision, error) {
	rev := kpi.TargetRevision{KPI: k.ID, AppliesFrom: today, Reason: strings.TrimSpace(req.Reason), Source: kpi.SourceAPI}
	if rev.Reason == "" {
		rev.Reason = strings.TrimSpace(defaultReason)
	}

	hasValue, hasChange := len(req.Value) > 0 && string(req.Value) != "null", len(req.Change) > 0 && string(req.Change) != "null"
	switch {
	case hasValue && hasChange:
		return rev, kpi.Errorf(kpi.EINVALID, "set value or change, not both")
	case hasValue:
		v, err := jsonAmount("value", req.Value)
		if err != nil {
			return rev, err
		}
		rev.Target.Value = &v
	case hasChange:
		var text string
		if err := json.Unmarshal(req.Change, &text); err != nil {
			return rev, kpi.Errorf(kpi.EINVALID, "change %s is not valid (want a string such as \"+20%%\")", req.Change)
		}
		c, err := kpi.ParseChange(text)
		if err != nil {
			return rev, err
		}
		if k.Baseline == nil {
			return rev, kpi.Errorf(kpi.EINVALID, "kpi %q has no baseline, so a change has nothing to be relative to (give value instead)", k.ID)
		}
		rev.Target.Change = &c
	default:
		return rev, kpi.Errorf(kpi.EINVALID, "value or change is missing (want \"value\": 50000 or \"change\": \"+20%%\")")
	}

	by, err := requestDate("by", req.By, true)
	if err != nil {
		return rev, err
	}
	rev.Target.By = by
	if req.AppliesFrom != "" {
		if rev.AppliesFrom, err = requestDate("applies_from", req.AppliesFrom, true); err != nil {
			return rev, err
		}
	}
	if k.Baseline != nil && by.String() <= k.Baseline.Date.String() {
		return rev, kpi.Errorf(kpi.EINVALID, "by %s is not after the baseline date %s of kpi %q", by, k.Baseline.Date, k.ID)
	}

	for i, m := range req.Milestones {
		d, err := requestDate(fmt.Sprintf("milestones[%d].date", i), m.Date, true)
		if err != nil {
			return rev, err
		}
		v, err := jsonAmount(fmt.Sprintf("milestones[%d].value", i), m.Value)
		if err != nil {
			return rev, err
		}
		rev.Target.Milestones = append(rev.Target.Milestones, kpi.Milestone{By: d, Value: v})
	}

	if rev.Reason == "" {
		return rev, kpi.Errorf(kpi.EINVALID, "reason is missing (say why the target of kpi %q changes)", k.ID)
	}
	return rev, nil
}

// jsonAmount reads a target or milestone value: a finite JSON number, 0 or
// more.
func jsonAmount(field string, raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, kpi.Errorf(kpi.EINVALID, "%s is missing (want a number)", field)
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || raw[0] == '"' {
		return 0, kpi.Errorf(kpi.EINVALID, "%s %s is not a number (want a finite JSON number such as 50000)", field, raw)
	}
	if v < 0 {
		return 0, kpi.Errorf(kpi.EINVALID, "%s %s is negative (want 0 or more)", field, raw)
	}
	return v, nil
}

// requestDate reads a YYYY-MM-DD date from a request field.
func requestDate(field, s string, required bool) (timegrain.Date, error) {
	if strings.TrimSpace(s) == "" {
		if required {
			return timegrain.Date{}, kpi.Errorf(kpi.EINVALID, "%s is missing (want a date as YYYY-MM-DD)", field)
		}
		return timegrain.Date{}, nil
	}
	d, err := timegrain.ParseDate(s)
	if err != nil {
		return d, kpi.Errorf(kpi.EINVALID, "%s: %v", field, err)
	}
	return d, nil
}

// readTargetsJSON decodes the JSON request body into v, rejecting unknown
// fields, trailing data and bodies over maxTargetBody.
func readTargetsJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTargetBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return kpi.Errorf(kpi.ETOOLARGE, "request body is larger than %d bytes", maxTargetBody)
	case errors.Is(err, io.EOF):
		return kpi.Errorf(kpi.EINVALID, "request body is empty (want a JSON object)")
	case err != nil:
		return kpi.Errorf(kpi.EINVALID, "request body is not valid: %v", err)
	}
	if dec.More() {
		return kpi.Errorf(kpi.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

// requireTargetStore returns an error when the server cannot store target
// revisions and reviews.
func (s *Server) requireTargetStore(ctx context.Context) error {
	if s.in(ctx).targets == nil {
		return &httpError{status: http.StatusNotImplemented, code: "not_implemented", message: "this server stores no target revisions or reviews (it runs without a database)"}
	}
	return nil
}

// addTargetHistory sets out's target to the one in force today, which a
// stored revision may have replaced, and its review schedule.
func (s *Server) addTargetHistory(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, out *kpiJSON) error {
	h, err := s.kpiHistory(ctx, k.ID)
	if err != nil {
		return err
	}
	out.Review = newReviewStateJSON(k, h, s.today(defs))

	revisions := kpi.TargetRevisions(k, h)
	if i := kpi.TargetInForce(revisions, s.now(), defs.Workspace.Location); i >= 0 {
		t := revisions[i].Target
		out.Target = &targetJSON{Value: t.Value, Change: t.Change, By: t.By.String()}
	}
	return nil
}
