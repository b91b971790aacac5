package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

var targetTests = []test{
	{"revisions round trip", testTargetRevisionsRoundTrip},
	{"invalid revisions", testTargetRevisionsInvalid},
	{"review adjusts target", testReviewAdjustsTarget},
	{"invalid review stores nothing", testReviewInvalidStoresNothing},
	{"review cadence", testReviewCadence},
	{"deleting a KPI deletes its history", testDeleteKPIDeletesHistory},
}

func day(s string) timegrain.Date {
	d, err := timegrain.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func float(f float64) *float64 { return &f }

func testTargetRevisionsRoundTrip(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	created := time.Date(2027, 2, 18, 9, 30, 0, 0, time.UTC)

	first, err := db.AddTargetRevision(ctx, kpi.TargetRevision{
		KPI: "signups", AppliesFrom: day("2027-02-15"), Author: "ana", Reason: "campaign", CreatedAt: created,
		Target: kpi.Target{Value: float(190), By: day("2027-03-31"), Milestones: []kpi.Milestone{{By: day("2027-02-28"), Value: 170}}},
	})
	if err != nil {
		t.Fatalf("AddTargetRevision: %v", err)
	}
	if _, err := db.AddTargetRevision(ctx, kpi.TargetRevision{
		KPI: "signups", AppliesFrom: day("2027-01-10"), Author: "bo", Reason: "back-dated", CreatedAt: created.Add(time.Hour),
		Target: kpi.Target{Change: float(0.25), By: day("2027-06-30")},
	}); err != nil {
		t.Fatalf("AddTargetRevision: %v", err)
	}
	if _, err := db.AddTargetRevision(ctx, kpi.TargetRevision{
		KPI: "orders", AppliesFrom: day("2027-01-01"), Reason: "other KPI", Target: kpi.Target{Value: float(5), By: day("2027-06-30")},
	}); err != nil {
		t.Fatalf("AddTargetRevision: %v", err)
	}

	var byDate, appliesFrom string
	var value float64
	queryRow(t, db, "SELECT by_date, applies_from, value FROM target_revisions WHERE reason = 'campaign'", &byDate, &appliesFrom, &value)
	if byDate != "2027-03-31" || appliesFrom != "2027-02-15" || value != 190 {
		t.Errorf("stored row = (%s, %s, %g), want (2027-03-31, 2027-02-15, 190)", byDate, appliesFrom, value)
	}

	h, err := db.KPIHistory(ctx, "signups")
	if err != nil {
		t.Fatalf("KPIHistory: %v", err)
	}
	if len(h.Revisions) != 2 {
		t.Fatalf("revisions = %+v, want 2 in the order stored", h.Revisions)
	}
	got := h.Revisions[0]
	if got.ID != first.ID || got.ID == 0 {
		t.Errorf("first revision id = %d, want %d (not 0)", got.ID, first.ID)
	}
	if got.Target.Value == nil || *got.Target.Value != 190 || got.Target.Change != nil {
		t.Errorf("first revision target = %+v, want value 190 and no change", got.Target)
	}
	if got.Target.By.String() != "2027-03-31" || got.AppliesFrom.String() != "2027-02-15" || got.Author != "ana" || got.Reason != "campaign" {
		t.Errorf("first revision = %+v", got)
	}
	if !got.CreatedAt.Equal(created) {
		t.Errorf("created at = %s, want %s", got.CreatedAt, created)
	}
	if len(got.Target.Milestones) != 1 || got.Target.Milestones[0].By.String() != "2027-02-28" || got.Target.Milestones[0].Value != 170 {
		t.Errorf("milestones = %+v, want 170 by 2027-02-28", got.Target.Milestones)
	}
	second := h.Revisions[1]
	if second.Target.Change == nil || *second.Target.Change != 0.25 || second.Target.Value != nil {
		t.Errorf("second revision target = %+v, want change 0.25", second.Target)
	}
	if second.Source != kpi.SourceAPI {
		t.Errorf("source = %q, want %q", second.Source, kpi.SourceAPI)
	}

	empty, err := db.KPIHistory(ctx, "unknown")
	if err != nil {
		t.Fatalf("KPIHistory(unknown): %v", err)
	}
	if len(empty.Revisions) != 0 || len(empty.Reviews) != 0 || empty.Cadence != kpi.NoCadence {
		t.Errorf("history of a KPI with none = %+v, want empty", empty)
	}
}

func testTargetRevisionsInvalid(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	valid := func() kpi.TargetRevision {
		return kpi.TargetRevision{KPI: "signups", AppliesFrom: day("2027-02-15"), Reason: "x", Target: kpi.Target{Value: float(10), By: day("2027-03-31")}}
	}
	tests := []struct {
		name   string
		change func(r *kpi.TargetRevision)
	}{
		{"negative value", func(r *kpi.TargetRevision) { r.Target.Value = float(-1) }},
		{"NaN value", func(r *kpi.TargetRevision) { r.Target.Value = float(math.NaN()) }},
		{"infinite value", func(r *kpi.TargetRevision) { r.Target.Value = float(math.Inf(1)) }},
		{"value and change", func(r *kpi.TargetRevision) { r.Target.Change = float(0.1) }},
		{"neither", func(r *kpi.TargetRevision) { r.Target.Value = nil }},
		{"change below -100%", func(r *kpi.TargetRevision) { r.Target.Value, r.Target.Change = nil, float(-1.5) }},
		{"no by date", func(r *kpi.TargetRevision) { r.Target.By = timegrain.Date{} }},
		{"no applies_from", func(r *kpi.TargetRevision) { r.AppliesFrom = timegrain.Date{} }},
		{"no reason", func(r *kpi.TargetRevision) { r.Reason = " " }},
		{"no KPI", func(r *kpi.TargetRevision) { r.KPI = "" }},
		{"milestone after target", func(r *kpi.TargetRevision) {
			r.Target.Milestones = []kpi.Milestone{{By: day("2027-04-01"), Value: 5}}
		}},
	}
	for _, tt := range tests {
		r := valid()
		tt.change(&r)
		_, err := db.AddTargetRevision(ctx, r)
		assertCode(t, tt.name, err, kpi.EINVALID)
	}

	var n int64
	queryRow(t, db, "SELECT count(*) FROM target_revisions", &n)
	if n != 0 {
		t.Errorf("target_revisions has %d rows after invalid input, want 0", n)
	}
}

func testReviewAdjustsTarget(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()

	if _, err := db.AddReview(ctx, kpi.Review{KPI: "signups", Date: day("2027-02-01"), Reviewer: "ana", Decision: kpi.Keep, Note: "fine"}); err != nil {
		t.Fatalf("AddReview(keep): %v", err)
	}
	adjusted, err := db.AddReview(ctx, kpi.Review{
		KPI: "signups", Date: day("2027-03-01"), Reviewer: "bo", Decision: kpi.AdjustTarget, Note: "raise it",
		Revision: &kpi.TargetRevision{KPI: "signups", AppliesFrom: day("2027-03-01"), Author: "bo", Reason: "raise it",
			Target: kpi.Target{Value: float(250), By: day("2027-06-30")}},
	})
	if err != nil {
		t.Fatalf("AddReview(adjust_target): %v", err)
	}
	if adjusted.ID == 0 || adjusted.Revision == nil || adjusted.Revision.ID == 0 {
		t.Fatalf("stored review = %+v, want ids for the review and its revision", adjusted)
	}

	var linked int64
	queryRow(t, db, "SELECT count(*) FROM reviews r JOIN target_revisions t ON t.id = r.target_revision_id WHERE r.decision = 'adjust_target' AND t.value = 250", &linked)
	if linked != 1 {
		t.Errorf("reviews linked to the 250 revision = %d, want 1", linked)
	}

	h, err := db.KPIHistory(ctx, "signups")
	if err != nil {
		t.Fatalf("KPIHistory: %v", err)
	}
	if len(h.Reviews) != 2 || len(h.Revisions) != 1 {
		t.Fatalf("history = %d reviews and %d revisions, want 2 and 1", len(h.Reviews), len(h.Revisions))
	}
	first, second := h.Reviews[0], h.Reviews[1]
	if first.Decision != kpi.Keep || first.Reviewer != "ana" || first.Note != "fine" || first.Date.String() != "2027-02-01" || first.Revision != nil {
		t.Errorf("first review = %+v", first)
	}
	if second.Decision != kpi.AdjustTarget || second.Revision == nil || *second.Revision.Target.Value != 250 {
		t.Errorf("second review = %+v, want adjust_target with the 250 revision", second)
	}
}

func testReviewInvalidStoresNothing(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	tests := []struct {
		name string
		r    kpi.Review
	}{
		{"unknown decision", kpi.Review{KPI: "signups", Date: day("2027-03-01"), Reviewer: "bo", Decision: "postpone"}},
		{"no reviewer", kpi.Review{KPI: "signups", Date: day("2027-03-01"), Decision: kpi.Keep}},
		{"no date", kpi.Review{KPI: "signups", Reviewer: "bo", Decision: kpi.Keep}},
		{"adjust without target", kpi.Review{KPI: "signups", Date: day("2027-03-01"), Reviewer: "bo", Decision: kpi.AdjustTarget}},
		{"adjust with negative target", kpi.Review{KPI: "signups", Date: day("2027-03-01"), Reviewer: "bo", Decision: kpi.AdjustTarget,
			Revision: &kpi.TargetRevision{KPI: "signups", AppliesFrom: day("2027-03-01"), Reason: "x", Target: kpi.Target{Value: float(-3), By: day("2027-06-30")}}}},
		{"keep with target", kpi.Review{KPI: "signups", Date: day("2027-03-01"), Reviewer: "bo", Decision: kpi.Keep,
			Revision: &kpi.TargetRevision{KPI: "signups", AppliesFrom: day("2027-03-01"), Reason: "x", Target: kpi.Target{Value: float(3), By: day("2027-06-30")}}}},
	}
	for _, tt := range tests {
		_, err := db.AddReview(ctx, tt.r)
		assertCode(t, tt.name, err, kpi.EINVALID)
	}

	var reviews, revisions int64
	queryRow(t, db, "SELECT count(*) FROM reviews", &reviews)
	queryRow(t, db, "SELECT count(*) FROM target_revisions", &revisions)
	if reviews != 0 || revisions != 0 {
		t.Errorf("after invalid reviews: %d reviews and %d revisions stored, want none", reviews, revisions)
	}
}

func testReviewCadence(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

	cadence := func() kpi.Cadence {
		t.Helper()
		h, err := db.KPIHistory(ctx, "signups")
		if err != nil {
			t.Fatalf("KPIHistory: %v", err)
		}
		return h.Cadence
	}

	if err := db.SetReviewCadence(ctx, "signups", kpi.Monthly, at); err != nil {
		t.Fatalf("SetReviewCadence(monthly): %v", err)
	}
	if got := cadence(); got != kpi.Monthly {
		t.Errorf("cadence = %q, want monthly", got)
	}
	if err := db.SetReviewCadence(ctx, "signups", kpi.Weekly, at); err != nil {
		t.Fatalf("SetReviewCadence(weekly): %v", err)
	}
	if got := cadence(); got != kpi.Weekly {
		t.Errorf("cadence after replacing = %q, want weekly", got)
	}
	err := db.SetReviewCadence(ctx, "signups", "yearly", at)
	assertCode(t, "yearly", err, kpi.EINVALID)
	if got := cadence(); got != kpi.Weekly {
		t.Errorf("cadence after an invalid one = %q, want weekly kept", got)
	}
	if err := db.SetReviewCadence(ctx, "signups", kpi.NoCadence, at); err != nil {
		t.Fatalf("SetReviewCadence(none): %v", err)
	}
	if got := cadence(); got != kpi.NoCadence {
		t.Errorf("cadence after removing = %q, want none", got)
	}
}

func testDeleteKPIDeletesHistory(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	meta, ok := db.(KPIMetaStore)
	if !ok {
		t.Fatalf("%T does not implement storetest.KPIMetaStore", db)
	}
	ctx := context.Background()
	if err := meta.CreateKPI(ctx, store.StoredKPI{ID: "signups", Name: "Signups", Direction: kpi.Up,
		Definition: []byte(`{"id":"signups","name":"Signups","metric":{"kind":"count","event":"signup"}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddReview(ctx, kpi.Review{KPI: "signups", Date: day("2027-03-01"), Reviewer: "bo", Decision: kpi.AdjustTarget,
		Revision: &kpi.TargetRevision{KPI: "signups", AppliesFrom: day("2027-03-01"), Reason: "x", Target: kpi.Target{Value: float(3), By: day("2027-06-30")}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetReviewCadence(ctx, "signups", kpi.Weekly, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddTargetRevision(ctx, kpi.TargetRevision{KPI: "orders", AppliesFrom: day("2027-03-01"), Reason: "kept", Target: kpi.Target{Value: float(3), By: day("2027-06-30")}}); err != nil {
		t.Fatal(err)
	}

	if err := meta.DeleteKPI(ctx, "signups"); err != nil {
		t.Fatalf("DeleteKPI: %v", err)
	}
	for _, c := range []struct {
		query string
		want  int64
	}{
		{"SELECT count(*) FROM reviews", 0},
		{"SELECT count(*) FROM review_cadences", 0},
		{"SELECT count(*) FROM target_revisions WHERE kpi_id = 'signups'", 0},
		{"SELECT count(*) FROM target_revisions WHERE kpi_id = 'orders'", 1},
	} {
		var n int64
		queryRow(t, db, c.query, &n)
		if n != c.want {
			t.Errorf("%s = %d after DeleteKPI, want %d", c.query, n, c.want)
		}
	}
}
