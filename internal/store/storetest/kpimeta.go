package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// KPIMetaStore is the part of a store that keeps KPI metadata besides data:
// annotations, feedback and the KPIs made in the UI.
type KPIMetaStore interface {
	CreateAnnotation(ctx context.Context, a kpi.Annotation) (kpi.Annotation, error)
	ListAnnotations(ctx context.Context, q store.AnnotationQuery) ([]kpi.Annotation, error)
	Annotation(ctx context.Context, id int64) (kpi.Annotation, error)
	DeleteAnnotation(ctx context.Context, id int64) error

	CreateFeedback(ctx context.Context, f kpi.Feedback) (kpi.Feedback, error)
	ListFeedback(ctx context.Context, kpiID string) ([]kpi.Feedback, error)

	ListKPIs(ctx context.Context) ([]store.StoredKPI, error)
	CreateKPI(ctx context.Context, k store.StoredKPI) error
	UpdateKPI(ctx context.Context, k store.StoredKPI) error
	DeleteKPI(ctx context.Context, id string) error
}

var kpiMetaTests = []test{
	{"annotations by KPI and date", testAnnotationsByKPIAndDate},
	{"annotation invalid input", testAnnotationInvalid},
	{"annotation delete", testAnnotationDelete},
	{"feedback newest first", testFeedbackNewestFirst},
	{"KPI create, update, delete", testStoredKPILifecycle},
}

func openMeta(t *testing.T, open func(t *testing.T) Store) (KPIMetaStore, Inspector) {
	t.Helper()
	s := open(t)
	meta, ok := s.(KPIMetaStore)
	if !ok {
		t.Fatalf("%T does not implement storetest.KPIMetaStore", s)
	}
	ins, ok := s.(Inspector)
	if !ok {
		t.Fatalf("%T does not implement storetest.Inspector", s)
	}
	return meta, ins
}

func date(s string) timegrain.Date {
	d, err := timegrain.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func addAnnotation(t *testing.T, s KPIMetaStore, kpiID string, kind kpi.AnnotationKind, day, note string) kpi.Annotation {
	t.Helper()
	a, err := s.CreateAnnotation(context.Background(), kpi.Annotation{KPI: kpiID, Kind: kind, Date: date(day), Note: note, Author: "ana"})
	if err != nil {
		t.Fatalf("CreateAnnotation(%q, %s): %v", kpiID, day, err)
	}
	return a
}

func annotationNotes(list []kpi.Annotation) string {
	notes := make([]string, 0, len(list))
	for _, a := range list {
		notes = append(notes, a.Note)
	}
	return strings.Join(notes, ",")
}

func testAnnotationsByKPIAndDate(t *testing.T, open func(t *testing.T) Store) {
	db, ins := openMeta(t, open)
	ctx := context.Background()

	addAnnotation(t, db, "mau", kpi.Release, "2026-03-10", "mau-release")
	addAnnotation(t, db, "", kpi.External, "2026-03-05", "all-external")
	addAnnotation(t, db, "dau", kpi.Incident, "2026-03-07", "dau-incident")
	addAnnotation(t, db, "mau", kpi.Experiment, "2026-04-01", "mau-experiment")

	cases := []struct {
		q    store.AnnotationQuery
		want string
	}{
		{store.AnnotationQuery{KPI: "mau"}, "all-external,mau-release,mau-experiment"},
		{store.AnnotationQuery{KPI: "dau"}, "all-external,dau-incident"},
		{store.AnnotationQuery{}, "all-external,dau-incident,mau-release,mau-experiment"},
		{store.AnnotationQuery{KPI: "mau", From: date("2026-03-06"), To: date("2026-03-31")}, "mau-release"},
		{store.AnnotationQuery{KPI: "mau", From: date("2026-03-10"), To: date("2026-04-01")}, "mau-release,mau-experiment"},
	}
	for _, c := range cases {
		got, err := db.ListAnnotations(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if notes := annotationNotes(got); notes != c.want {
			t.Errorf("ListAnnotations(%+v) = %s, want %s", c.q, notes, c.want)
		}
	}

	var nullKPIs int
	if err := ins.QueryRow(ctx, `SELECT COUNT(*) FROM annotations WHERE kpi_id IS NULL AND note = 'all-external'`, &nullKPIs); err != nil {
		t.Fatal(err)
	}
	if nullKPIs != 1 {
		t.Errorf("rows with kpi_id NULL for the all-KPI note = %d, want 1", nullKPIs)
	}

	got, _ := db.ListAnnotations(ctx, store.AnnotationQuery{KPI: "dau"})
	if len(got) == 2 {
		a := got[1]
		if a.KPI != "dau" || a.Kind != kpi.Incident || a.Date.String() != "2026-03-07" || a.Author != "ana" || a.ID == 0 || a.CreatedAt.IsZero() {
			t.Errorf("annotation read back = %+v", a)
		}
	}
}

func testAnnotationInvalid(t *testing.T, open func(t *testing.T) Store) {
	db, ins := openMeta(t, open)
	ctx := context.Background()

	bad := []kpi.Annotation{
		{KPI: "mau", Kind: "launch", Date: date("2026-03-01"), Note: "x"},
		{KPI: "mau", Kind: kpi.Release, Date: date("2026-03-01"), Note: " "},
		{KPI: "mau", Kind: kpi.Release, Note: "no date"},
		{KPI: "mau", Kind: kpi.Release, Date: date("2200-01-01"), Note: "far"},
	}
	for _, a := range bad {
		if _, err := db.CreateAnnotation(ctx, a); kpi.ErrorCode(err) != kpi.EINVALID {
			t.Errorf("CreateAnnotation(%+v) = %v, want invalid", a, err)
		}
	}

	var n int
	if err := ins.QueryRow(ctx, `SELECT COUNT(*) FROM annotations`, &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d annotations stored, want 0", n)
	}
}

func testAnnotationDelete(t *testing.T, open func(t *testing.T) Store) {
	db, _ := openMeta(t, open)
	ctx := context.Background()

	keep := addAnnotation(t, db, "mau", kpi.Release, "2026-03-10", "keep")
	gone := addAnnotation(t, db, "mau", kpi.Release, "2026-03-11", "gone")

	if err := db.DeleteAnnotation(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAnnotation(ctx, gone.ID); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("second delete = %v, want not found", err)
	}
	if _, err := db.Annotation(ctx, gone.ID); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("Annotation(deleted) = %v, want not found", err)
	}
	got, err := db.Annotation(ctx, keep.ID)
	if err != nil || got.Note != "keep" {
		t.Errorf("Annotation(kept) = %+v, %v", got, err)
	}
}

func testFeedbackNewestFirst(t *testing.T, open func(t *testing.T) Store) {
	db, ins := openMeta(t, open)
	ctx := context.Background()

	for _, text := range []string{"first", "second", "third"} {
		if _, err := db.CreateFeedback(ctx, kpi.Feedback{KPI: "nps", Text: text, Author: "ana", Source: "survey"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateFeedback(ctx, kpi.Feedback{KPI: "mau", Text: "other KPI"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateFeedback(ctx, kpi.Feedback{KPI: "nps", Text: "   "}); kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("empty feedback = %v, want invalid", err)
	}

	list, err := db.ListFeedback(ctx, "nps")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, f := range list {
		texts = append(texts, f.Text)
	}
	if got := strings.Join(texts, ","); got != "third,second,first" {
		t.Errorf("ListFeedback = %s, want third,second,first", got)
	}
	if len(list) > 0 && (list[0].Source != "survey" || list[0].Author != "ana" || list[0].KPI != "nps") {
		t.Errorf("feedback read back = %+v", list[0])
	}

	var n int
	if err := ins.QueryRow(ctx, `SELECT COUNT(*) FROM feedback WHERE kpi_id = 'nps'`, &n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("feedback rows on nps = %d, want 3", n)
	}
}

func testStoredKPILifecycle(t *testing.T, open func(t *testing.T) Store) {
	db, ins := openMeta(t, open)
	ctx := context.Background()

	k := store.StoredKPI{ID: "signups", Name: "Signups", Owner: "ana", Unit: "users", Direction: kpi.Up,
		Definition: []byte(`{"id":"signups","name":"Signups","metric":{"kind":"count","event":"signup"}}`)}
	if err := db.CreateKPI(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKPI(ctx, k); kpi.ErrorCode(err) != kpi.ECONFLICT {
		t.Errorf("second CreateKPI = %v, want conflict", err)
	}

	var managedBy string
	if err := ins.QueryRow(ctx, `SELECT managed_by FROM kpis WHERE id = 'signups'`, &managedBy); err != nil {
		t.Fatal(err)
	}
	if managedBy != "ui" {
		t.Errorf("managed_by = %q, want ui", managedBy)
	}

	k.Name, k.Direction = "Daily signups", kpi.Down
	k.Definition = []byte(`{"id":"signups","name":"Daily signups","direction":"down","metric":{"kind":"count","event":"signup"}}`)
	if err := db.UpdateKPI(ctx, k); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListKPIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "Daily signups" || list[0].Direction != kpi.Down || !strings.Contains(string(list[0].Definition), `"Daily signups"`) {
		t.Errorf("ListKPIs after update = %+v", list)
	}
	if err := db.UpdateKPI(ctx, store.StoredKPI{ID: "nope", Definition: []byte(`{}`)}); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("UpdateKPI(unknown) = %v, want not found", err)
	}

	addAnnotation(t, db, "signups", kpi.Release, "2026-03-10", "on signups")
	addAnnotation(t, db, "", kpi.External, "2026-03-11", "on every KPI")
	if _, err := db.CreateFeedback(ctx, kpi.Feedback{KPI: "signups", Text: "hard to find"}); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteKPI(ctx, "signups"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteKPI(ctx, "signups"); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("second DeleteKPI = %v, want not found", err)
	}
	var kpis, notes, feedback int
	for _, c := range []struct {
		query string
		dest  *int
	}{
		{`SELECT COUNT(*) FROM kpis`, &kpis},
		{`SELECT COUNT(*) FROM annotations`, &notes},
		{`SELECT COUNT(*) FROM feedback`, &feedback},
	} {
		if err := ins.QueryRow(ctx, c.query, c.dest); err != nil {
			t.Fatal(err)
		}
	}
	if kpis != 0 || notes != 1 || feedback != 0 {
		t.Errorf("after DeleteKPI: %d KPIs, %d annotations, %d feedback; want 0, 1 (the all-KPI note), 0", kpis, notes, feedback)
	}
}
