package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func TestAddSections(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	date := func(s string) timegrain.Date {
		d, err := timegrain.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, a := range []kpi.Annotation{
		{KPI: "revenue", Kind: kpi.Release, Date: date("2026-06-10"), Note: "New checkout", Author: "Ana"},
		{KPI: "", Kind: kpi.External, Date: date("2026-06-20"), Note: "Competitor launched a free plan", Author: "Bo"},
		{KPI: "churn", Kind: kpi.Incident, Date: date("2026-06-15"), Note: "On a KPI outside the digest"},
		{KPI: "revenue", Kind: kpi.Experiment, Date: date("2026-05-31"), Note: "Before the digest's range"},
	} {
		if _, err := db.CreateAnnotation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateFeedback(ctx, kpi.Feedback{KPI: "signups", Text: "Sign-up form is too long", Author: "Cy", Source: "survey"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetReviewCadence(ctx, "signups", kpi.Weekly, time.Now()); err != nil {
		t.Fatal(err)
	}

	in := digestInput(t)
	in.DueReviews, in.Annotations, in.Feedback = nil, nil, nil
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	to := time.Now().Add(time.Hour)
	if err := in.AddSections(ctx, db, from, to); err != nil {
		t.Fatal(err)
	}

	// signups has a weekly cadence and no review, so it is due today;
	// revenue has no cadence.
	if len(in.DueReviews) != 1 || in.DueReviews[0].KPI != "signups" || in.DueReviews[0].Cadence != "weekly" {
		t.Errorf("due reviews = %+v, want signups weekly", in.DueReviews)
	}
	if len(in.Annotations) != 2 || in.Annotations[0].Note != "New checkout" || in.Annotations[1].KPI != "" {
		t.Errorf("annotations = %+v, want the revenue release and the note on every KPI", in.Annotations)
	}
	if len(in.Feedback) != 1 || in.Feedback[0].Text != "Sign-up form is too long" || in.Feedback[0].Source != "survey" {
		t.Errorf("feedback = %+v, want the survey comment on signups", in.Feedback)
	}

	// Feedback recorded before from is not new.
	in.Feedback = nil
	if err := in.AddSections(ctx, db, to, to.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if len(in.Feedback) != 0 {
		t.Errorf("feedback after it was recorded = %+v, want none", in.Feedback)
	}
}
