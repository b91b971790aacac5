package report

import (
	"context"
	"fmt"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// SectionSource is the storage the optional sections of a digest are read
// from; both stores implement it.
type SectionSource interface {
	ListAnnotations(ctx context.Context, q store.AnnotationQuery) ([]kpi.Annotation, error)
	ListFeedback(ctx context.Context, kpiID string) ([]kpi.Feedback, error)
	KPIHistory(ctx context.Context, id string) (kpi.History, error)
}

// AddSections fills the optional sections of in for its items. They are the
// reviews due on the day of to, and the annotations dated from the day of
// from to the day of to, on those KPIs and on every KPI. They also include
// the feedback on those KPIs recorded in [from, to). Days are in in.Location.
func (in *DigestInput) AddSections(ctx context.Context, src SectionSource, from, to time.Time) error {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	today := timegrain.DateOf(to.In(loc))
	inDigest := map[string]bool{}
	for _, it := range in.Items {
		inDigest[it.KPI.ID] = true
	}

	for _, it := range in.Items {
		h, err := src.KPIHistory(ctx, it.KPI.ID)
		if err != nil {
			return fmt.Errorf("kpi %q: reading its review history: %w", it.KPI.ID, err)
		}
		st := kpi.ReviewStateOn(kpi.CadenceOf(it.KPI, h), h, today)
		if !st.Due {
			continue
		}
		r := DueReview{KPI: it.KPI.ID, Cadence: string(st.Cadence), Due: st.NextDue.String()}
		if st.LastReview != nil {
			r.LastReview = st.LastReview.Date.String()
		}
		in.DueReviews = append(in.DueReviews, r)
	}

	notes, err := src.ListAnnotations(ctx, store.AnnotationQuery{From: timegrain.DateOf(from.In(loc)), To: today})
	if err != nil {
		return fmt.Errorf("reading annotations: %w", err)
	}
	for _, a := range notes {
		if a.KPI != "" && !inDigest[a.KPI] {
			continue
		}
		in.Annotations = append(in.Annotations, Annotation{KPI: a.KPI, Kind: string(a.Kind), Date: a.Date.String(), Note: a.Note, Author: a.Author})
	}

	for _, it := range in.Items {
		entries, err := src.ListFeedback(ctx, it.KPI.ID)
		if err != nil {
			return fmt.Errorf("kpi %q: reading feedback: %w", it.KPI.ID, err)
		}
		for _, f := range entries {
			if f.CreatedAt.Before(from) || !f.CreatedAt.Before(to) {
				continue
			}
			in.Feedback = append(in.Feedback, Feedback{
				KPI: f.KPI, Date: f.CreatedAt.In(loc).Format(time.DateOnly), Text: f.Text, Author: f.Author, Source: f.Source,
			})
		}
	}
	return nil
}
