package web

import (
	"context"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// reviewView shows a KPI's review schedule on its page and its card.
type reviewView struct {
	Cadence    string // "monthly"; "" when the KPI has none
	Due        bool
	NextDue    string // YYYY-MM-DD
	LastReview string // "2027-02-18 by bo: keep"
	Retired    bool
}

func newReviewView(st reviewStateJSON) reviewView {
	v := reviewView{Cadence: string(st.Cadence), Due: st.Due, Retired: st.Retired}
	if st.NextDue != nil {
		v.NextDue = *st.NextDue
	}
	if r := st.LastReview; r != nil {
		v.LastReview = r.Date + " by " + r.Reviewer + ": " + decisionText(r.Decision)
	}
	return v
}

// decisionText returns a review decision in words.
func decisionText(d kpi.Decision) string {
	return strings.ReplaceAll(string(d), "_", " ")
}

// targetRow is one revision in the KPI page's target history.
type targetRow struct {
	AppliesFrom string
	Target      string
	Milestones  string
	Author      string
	Reason      string
	InForce     bool
}

// reviewRow is one review in the KPI page's review history.
type reviewRow struct {
	Date     string
	Reviewer string
	Decision string
	Note     string
}

// addPageTargetHistory fills the page's target and review history, its review
// schedule, and its target text with the target in force today.
func (s *Server) addPageTargetHistory(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, page *kpiPage) error {
	h, err := s.kpiHistory(ctx, k.ID)
	if err != nil {
		return err
	}
	page.Review = newReviewView(newReviewStateJSON(k, h, s.today(defs)))

	revisions := kpi.TargetRevisions(k, h)
	inForce := kpi.TargetInForce(revisions, s.now(), defs.Workspace.Location)
	if inForce >= 0 {
		page.TargetText = targetTextOf(k, &revisions[inForce].Target)
	}
	for i := len(revisions) - 1; i >= 0; i-- {
		r := revisions[i]
		row := targetRow{AppliesFrom: "the start", Target: targetTextOf(k, &r.Target), Author: r.Author, Reason: r.Reason, InForce: i == inForce}
		if !r.AppliesFrom.IsZero() {
			row.AppliesFrom = r.AppliesFrom.String()
		}
		if r.Source == kpi.SourceFile && row.Reason == "" {
			// The target of a KPI's definition: a KPI made in the UI keeps
			// its definition in the database, not in the KPI file.
			row.Reason = "set in the KPI file"
			if k.IsManagedByUI() {
				row.Reason = "set when the KPI was made in the UI"
			}
		}
		var ms []string
		for _, m := range r.Target.Milestones {
			v := m.Value
			ms = append(ms, formatKPIValue(&v, k)+" by "+m.By.String())
		}
		row.Milestones = strings.Join(ms, ", ")
		page.TargetHistory = append(page.TargetHistory, row)
	}

	for i := len(h.Reviews) - 1; i >= 0; i-- {
		r := h.Reviews[i]
		page.Reviews = append(page.Reviews, reviewRow{Date: r.Date.String(), Reviewer: r.Reviewer, Decision: decisionText(r.Decision), Note: r.Note})
	}
	return nil
}

// addCardReview marks a dashboard card whose KPI is due for review or
// retired.
func (s *Server) addCardReview(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, card *kpiCard) error {
	h, err := s.kpiHistory(ctx, k.ID)
	if err != nil {
		return err
	}
	st := kpi.ReviewStateOn(kpi.CadenceOf(k, h), h, s.today(defs))
	card.ReviewDue = st.Due
	_, card.Retired = h.Retired()
	return nil
}

// chartLine is a benchmark line of a chart: one value per label, nil where
// it has none.
type chartLine struct {
	Name   string     `json:"name"`
	Values []*float64 `json:"values"`
}

// addReferenceLines adds series' benchmark lines and milestones to spec. A
// constant benchmark has its value at every label. A milestone is drawn at
// the period that contains its date, and left out when no period does.
func addReferenceLines(spec *chartSpec, series *engine.Series) {
	n := len(spec.Labels)
	for _, b := range series.Benchmarks {
		line := chartLine{Name: b.Name, Values: make([]*float64, n)}
		for i := range n {
			switch {
			case b.Value != nil:
				line.Values[i] = b.Value
			case i < len(b.Points):
				line.Values[i] = b.Points[i].Value
			}
		}
		spec.Benchmarks = append(spec.Benchmarks, line)
	}

	for _, m := range series.Milestones {
		for i := range min(n, len(series.Points)) {
			p := series.Points[i]
			due, err := time.ParseInLocation(time.DateOnly, m.Date, p.End.Location())
			if err != nil || !due.Before(p.End) || due.Before(p.Start) {
				continue
			}
			if spec.Milestones == nil {
				spec.Milestones = make([]*float64, n)
			}
			v := m.Value
			spec.Milestones[i] = &v
		}
	}
}
