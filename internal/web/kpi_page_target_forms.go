package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// reviewForm holds what the KPI page's review form sent, and why it was
// rejected, if it was.
type reviewForm struct {
	Date, Reviewer, Decision, Note string
	TargetValue, TargetChange      string
	TargetBy                       string
	Error                          string
}

// targetForm holds what the KPI page's target form sent, and why it was
// rejected, if it was.
type targetForm struct {
	Value, Change, By, AppliesFrom, Reason, Author string
	Error                                          string
}

// targetFormsView is the part of the KPI page with the review and target
// forms. It is nil when the server stores no reviews.
type targetFormsView struct {
	Href      string // the KPI page, where the forms post and return to
	Query     string // the page's query, kept by the forms
	Review    reviewForm
	Target    targetForm
	Decisions []option
}

func (s *Server) registerTargetFormRoutes() {
	s.register("POST /kpis/{id}/reviews", AccessEditor, s.handle(s.handleReviewForm))
	s.register("POST /kpis/{id}/targets", AccessEditor, s.handle(s.handleTargetForm))
}

// newTargetFormsView returns the forms of k's page, filled with forms. It
// returns nil when the server stores no reviews, and for a viewer, who may
// not send them.
func (s *Server) newTargetFormsView(r *http.Request, defs *kpi.Definitions, k *kpi.KPI, forms kpiPageForms) *targetFormsView {
	if s.inRequest(r).targets == nil {
		return nil
	}
	if p := PrincipalFrom(r.Context()); p == nil || !p.Role.Allows(auth.RoleEditor) {
		return nil
	}
	today := s.today(defs).String()
	v := &targetFormsView{Href: "/kpis/" + url.PathEscape(k.ID), Query: r.URL.RawQuery, Review: forms.Review, Target: forms.Target}
	if v.Review.Date == "" {
		v.Review.Date = today
	}
	if v.Target.AppliesFrom == "" {
		v.Target.AppliesFrom = today
	}
	for _, d := range []kpi.Decision{kpi.Keep, kpi.AdjustTarget, kpi.Retire} {
		v.Decisions = append(v.Decisions, option{Value: string(d), Label: decisionText(d), Selected: string(d) == v.Review.Decision})
	}
	return v
}

// formNumber returns the text of a number field as JSON: the number itself
// when it is one, and a JSON string otherwise, which the API's checks then
// reject with the text in the message. An empty field is no value.
func formNumber(text string) json.RawMessage {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal([]byte(text), &n); err == nil {
		return json.RawMessage(text)
	}
	quoted, _ := json.Marshal(text)
	return quoted
}

// formText returns the text of a field as a JSON string, or no value when it
// is empty.
func formText(text string) json.RawMessage {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	quoted, _ := json.Marshal(text)
	return quoted
}

// handleReviewForm serves POST /kpis/{id}/reviews, the KPI page's review
// form. It redirects back to the page, or re-renders it with the error.
func (s *Server) handleReviewForm(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.requireTargetStore(r.Context()); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	form := reviewForm{
		Date: r.PostFormValue("date"), Reviewer: r.PostFormValue("reviewer"), Decision: r.PostFormValue("decision"),
		Note: r.PostFormValue("note"), TargetValue: r.PostFormValue("target_value"),
		TargetChange: r.PostFormValue("target_change"), TargetBy: r.PostFormValue("target_by"),
	}

	req := reviewRequest{Date: form.Date, Reviewer: form.Reviewer, Decision: form.Decision, Note: form.Note}
	if form.Decision == string(kpi.AdjustTarget) {
		req.Target = &targetRequest{Value: formNumber(form.TargetValue), Change: formText(form.TargetChange), By: form.TargetBy}
	}
	_, err = s.storeReview(r, defs, k, req)
	if kpi.ErrorCode(err) == kpi.EINVALID {
		form.Error = kpi.ErrorMessage(err)
		return s.renderKPIPage(w, r, http.StatusBadRequest, kpiPageForms{Review: form})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, withQuery("/kpis/"+url.PathEscape(k.ID), r.URL.RawQuery)+"#reviews", http.StatusSeeOther)
	return nil
}

// handleTargetForm serves POST /kpis/{id}/targets, the KPI page's form for
// a target revision. It redirects back to the page, or re-renders it with
// the error.
func (s *Server) handleTargetForm(w http.ResponseWriter, r *http.Request) error {
	defs := s.currentDefinitions(r)
	k, err := defs.KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.requireTargetStore(r.Context()); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	form := targetForm{
		Value: r.PostFormValue("value"), Change: r.PostFormValue("change"), By: r.PostFormValue("by"),
		AppliesFrom: r.PostFormValue("applies_from"), Reason: r.PostFormValue("reason"), Author: r.PostFormValue("author"),
	}

	req := targetRequest{Value: formNumber(form.Value), Change: formText(form.Change), By: form.By,
		AppliesFrom: form.AppliesFrom, Reason: form.Reason, Author: form.Author}
	_, err = s.recordTargetRevision(r, defs, k, req)
	if kpi.ErrorCode(err) == kpi.EINVALID {
		form.Error = kpi.ErrorMessage(err)
		return s.renderKPIPage(w, r, http.StatusBadRequest, kpiPageForms{Target: form})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, withQuery("/kpis/"+url.PathEscape(k.ID), r.URL.RawQuery)+"#target-history", http.StatusSeeOther)
	return nil
}
