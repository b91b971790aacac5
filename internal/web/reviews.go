package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// reviewJSON is one review of a KPI.
type reviewJSON struct {
	ID       int64               `json:"id"`
	Date     string              `json:"date"`
	Reviewer string              `json:"reviewer"`
	Decision kpi.Decision        `json:"decision"`
	Note     string              `json:"note"`
	Target   *targetRevisionJSON `json:"target,omitempty"` // the revision an adjust_target review made
}

func newReviewJSON(r kpi.Review) reviewJSON {
	out := reviewJSON{ID: r.ID, Date: r.Date.String(), Reviewer: r.Reviewer, Decision: r.Decision, Note: r.Note}
	if r.Revision != nil {
		t := newTargetRevisionJSON(*r.Revision, false)
		out.Target = &t
	}
	return out
}

// reviewStateJSON is a KPI's review schedule, in the KPI JSON and the
// review list.
type reviewStateJSON struct {
	Cadence    kpi.Cadence `json:"cadence"` // "" when the KPI has none
	Due        bool        `json:"due"`
	NextDue    *string     `json:"next_due"` // YYYY-MM-DD; nil without a cadence or when retired
	LastReview *reviewJSON `json:"last_review"`
	Retired    bool        `json:"retired"`
}

// reviewState returns k's review schedule as of today.
func (s *Server) reviewState(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI) (reviewStateJSON, error) {
	h, err := s.kpiHistory(ctx, k.ID)
	if err != nil {
		return reviewStateJSON{}, err
	}
	return newReviewStateJSON(k, h, s.today(defs)), nil
}

func newReviewStateJSON(k *kpi.KPI, h kpi.History, today timegrain.Date) reviewStateJSON {
	st := kpi.ReviewStateOn(kpi.CadenceOf(k, h), h, today)
	out := reviewStateJSON{Cadence: st.Cadence, Due: st.Due}
	if st.NextDue != nil {
		d := st.NextDue.String()
		out.NextDue = &d
	}
	if st.LastReview != nil {
		r := newReviewJSON(*st.LastReview)
		out.LastReview = &r
	}
	_, out.Retired = h.Retired()
	return out
}

// reviewList is the body of GET /api/v1/kpis/{id}/reviews.
type reviewList struct {
	KPI     string          `json:"kpi"`
	Review  reviewStateJSON `json:"review"`
	Reviews []reviewJSON    `json:"reviews"` // newest first
}

// handleReviewList serves GET /api/v1/kpis/{id}/reviews: the KPI's review
// schedule and its reviews, newest first.
func (s *Server) handleReviewList(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	h, err := s.kpiHistory(r.Context(), k.ID)
	if err != nil {
		return err
	}

	list := reviewList{KPI: k.ID, Review: newReviewStateJSON(k, h, s.today(defs)), Reviews: make([]reviewJSON, 0, len(h.Reviews))}
	for i := len(h.Reviews) - 1; i >= 0; i-- {
		list.Reviews = append(list.Reviews, newReviewJSON(h.Reviews[i]))
	}
	s.writeJSON(w, r, http.StatusOK, list)
	return nil
}

// reviewRequest is the body of POST /api/v1/kpis/{id}/reviews.
type reviewRequest struct {
	Date     string         `json:"date"` // YYYY-MM-DD; today when empty
	Reviewer string         `json:"reviewer"`
	Decision string         `json:"decision"`
	Note     string         `json:"note"`
	Target   *targetRequest `json:"target"` // the new target, for adjust_target only
}

// handleReviewCreate serves POST /api/v1/kpis/{id}/reviews: it records a
// review, and for adjust_target the new target revision with it.
func (s *Server) handleReviewCreate(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.requireTargetStore(r.Context()); err != nil {
		return err
	}

	var req reviewRequest
	if err := readTargetsJSON(w, r, &req); err != nil {
		return err
	}
	stored, err := s.storeReview(r, defs, k, req)
	if err != nil {
		return err
	}
	out := newReviewJSON(stored)
	if out.Target != nil {
		if out.Target.InForce, err = s.revisionInForce(r, defs, k, out.Target.ID); err != nil {
			return err
		}
	}
	w.Header().Set("Location", "/api/v1/kpis/"+url.PathEscape(k.ID)+"/reviews")
	s.writeJSON(w, r, http.StatusCreated, out)
	return nil
}

// storeReview stores the review of k that req describes, with its target
// revision when it adjusts the target, and records both in the audit log.
// The reviewer is the signed-in account or API token unless req names one.
func (s *Server) storeReview(r *http.Request, defs *kpi.Definitions, k *kpi.KPI, req reviewRequest) (kpi.Review, error) {
	if strings.TrimSpace(req.Reviewer) == "" {
		req.Reviewer = actorName(r)
	}
	review, err := req.review(k, s.today(defs))
	if err != nil {
		return review, err
	}
	review.CreatedAt = s.now().UTC()
	if review.Revision != nil {
		review.Revision.CreatedAt = review.CreatedAt
	}

	before, err := s.targetInForce(r, defs, k)
	if err != nil {
		return review, err
	}
	stored, err := s.inRequest(r).targets.AddReview(r.Context(), review)
	if err != nil {
		return stored, err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "create", ObjectType: "review", ObjectID: k.ID, After: newReviewJSON(stored)})
	if stored.Revision != nil {
		s.auditTargetChange(r, k, before, *stored.Revision)
	}
	return stored, nil
}

// review converts the request into a review of k.
func (req reviewRequest) review(k *kpi.KPI, today timegrain.Date) (kpi.Review, error) {
	review := kpi.Review{KPI: k.ID, Date: today, Reviewer: strings.TrimSpace(req.Reviewer), Note: strings.TrimSpace(req.Note)}

	decision, err := kpi.ParseDecision(req.Decision)
	if err != nil {
		return review, err
	}
	review.Decision = decision
	if req.Date != "" {
		if review.Date, err = requestDate("date", req.Date, true); err != nil {
			return review, err
		}
	}
	if review.Reviewer == "" {
		return review, kpi.Errorf(kpi.EINVALID, "reviewer is missing (name who reviewed kpi %q, or sign in)", k.ID)
	}

	switch {
	case decision == kpi.AdjustTarget && req.Target == nil:
		return review, kpi.Errorf(kpi.EINVALID, "decision adjust_target needs the new target (add \"target\": {\"value\": ..., \"by\": \"YYYY-MM-DD\"})")
	case decision != kpi.AdjustTarget && req.Target != nil:
		return review, kpi.Errorf(kpi.EINVALID, "only decision adjust_target takes a target (decision is %s)", decision)
	case req.Target != nil:
		rev, err := req.Target.revision(k, review.Date, review.Note)
		if err != nil {
			return review, kpi.Errorf(kpi.EINVALID, "target: %s", kpi.ErrorMessage(err))
		}
		rev.Author = review.Reviewer
		review.Revision = &rev
	}
	return review, nil
}

// cadenceRequest is the body of PUT /api/v1/kpis/{id}/review.
type cadenceRequest struct {
	Cadence *string `json:"cadence"` // weekly, monthly, quarterly, or "" to remove
}

// handleReviewCadence serves PUT /api/v1/kpis/{id}/review: it sets the
// review cadence of a KPI whose definition sets none.
func (s *Server) handleReviewCadence(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.requireTargetStore(r.Context()); err != nil {
		return err
	}
	if k.Review != kpi.NoCadence {
		where := "change review: in the KPI file"
		if k.IsManagedByUI() {
			where = "edit the KPI to change it"
		}
		return kpi.Errorf(kpi.ECONFLICT, "kpi %q sets review: %s in its definition, so %s", k.ID, k.Review, where)
	}

	var req cadenceRequest
	if err := readTargetsJSON(w, r, &req); err != nil {
		return err
	}
	if req.Cadence == nil {
		return kpi.Errorf(kpi.EINVALID, "cadence is missing (want weekly, monthly, quarterly, or \"\" to remove it)")
	}
	c := kpi.NoCadence
	if *req.Cadence != "" {
		if c, err = kpi.ParseCadence(*req.Cadence); err != nil {
			return err
		}
	}
	h, err := s.kpiHistory(r.Context(), k.ID)
	if err != nil {
		return err
	}
	if err := s.inRequest(r).targets.SetReviewCadence(r.Context(), k.ID, c, s.now().UTC()); err != nil {
		return err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "update", ObjectType: "review_cadence", ObjectID: k.ID,
		Before: map[string]kpi.Cadence{"cadence": h.Cadence}, After: map[string]kpi.Cadence{"cadence": c}})

	st, err := s.reviewState(r.Context(), defs, k)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, st)
	return nil
}
