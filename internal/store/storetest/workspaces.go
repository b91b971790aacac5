package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// IndexBlobStore is the persisted activity index of a store. The suite
// fails when a store lacks it.
type IndexBlobStore interface {
	LoadIndexBlobs(ctx context.Context, fn func(store.IndexBlob) error) error
	SaveIndexBlobs(ctx context.Context, s store.IndexSave) error
}

// WorkspaceViews is a store that returns views limited to one workspace.
// The suite fails when a store lacks it.
type WorkspaceViews interface {
	InWorkspace(id int64) Store
}

var workspaceTests = []test{
	{"each view sees only its own rows", testWorkspaceIsolation},
}

// workspacePair returns the store's default workspace and a view of a second
// workspace that the test creates with plain SQL.
func workspacePair(t *testing.T, open func(t *testing.T) Store) (first, second Store) {
	t.Helper()
	s := open(t)
	views, ok := s.(WorkspaceViews)
	if !ok {
		t.Fatalf("%T does not implement storetest.WorkspaceViews", s)
	}

	var id int64
	queryRow(t, s, `INSERT INTO workspaces (name) VALUES ('second') RETURNING id`, &id)
	if id == 1 {
		t.Fatalf("second workspace got id 1, the default workspace's id")
	}
	return views.InWorkspace(1), views.InWorkspace(id)
}

func testWorkspaceIsolation(t *testing.T, open func(t *testing.T) Store) {
	one, two := workspacePair(t, open)
	ctx := context.Background()

	// Events: the same source and message id in both workspaces is no
	// duplicate, because deduplication is per workspace.
	insert(t, one,
		event("m1", "signup", "ana", at(2, 10, 0, 0), map[string]any{"revenue": 10.0}),
		event("m2", "signup", "bo", at(3, 10, 0, 0), map[string]any{"revenue": 5.0}),
	)
	res := insert(t, two,
		event("m1", "signup", "ana", at(2, 11, 0, 0), map[string]any{"revenue": 100.0}),
		event("m3", "purchase", "cy", at(4, 9, 0, 0), nil),
	)
	if res.Inserted != 2 || res.Duplicates != 0 {
		t.Errorf("workspace 2 insert = %+v, want 2 inserted and 0 duplicates", res)
	}

	// Workspace 1 has 2 signups by 2 users worth 10+5; workspace 2 has 1
	// signup worth 100 and 1 purchase.
	if got := aggregateAll(t, one, "signup"); got.Events != 2 || got.Users != 2 {
		t.Errorf("workspace 1 signups = %+v, want 2 events by 2 users", got)
	}
	if got := aggregateAll(t, two, "signup"); got.Events != 1 || got.Users != 1 {
		t.Errorf("workspace 2 signups = %+v, want 1 event by 1 user", got)
	}
	if got := aggregateAll(t, one, "purchase"); got.Events != 0 {
		t.Errorf("workspace 1 purchases = %+v, want none", got)
	}
	names, err := one.EventNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "signup" {
		t.Errorf("workspace 1 event names = %v, want [signup]", names)
	}
	span, err := two.EventSpan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !span.First.Equal(at(2, 11, 0, 0)) || !span.Last.Equal(at(4, 9, 0, 0)) {
		t.Errorf("workspace 2 span = %+v, want 2026-03-02 11:00 to 2026-03-04 09:00", span)
	}
	scanned := 0
	if err := two.ScanEvents(ctx, store.ScanQuery{}, func(store.EventRow) error {
		scanned++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if scanned != 2 {
		t.Errorf("workspace 2 scan saw %d events, want 2", scanned)
	}

	// Users: ana exists in both workspaces as two users, each with its own traits.
	identify(t, two, store.Identify{DistinctID: "ana", Traits: map[string]any{"plan": "pro"}, Timestamp: at(5, 0, 0, 0)})
	alias(t, two, store.Alias{DistinctID: "ana", PreviousID: "cy", Timestamp: at(5, 0, 0, 0)})
	if n := countRows(t, one, `SELECT COUNT(*) FROM users WHERE workspace_id = 1`); n != 2 {
		t.Errorf("workspace 1 has %d users, want 2 (ana, bo)", n)
	}
	var traits string
	queryRow(t, one, `SELECT traits FROM users WHERE workspace_id = 1 AND distinct_id = 'ana'`, &traits)
	if traits != "{}" {
		t.Errorf("workspace 1 ana traits = %s, want {} (the identify went to workspace 2)", traits)
	}
	if n := countRows(t, one, `SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id = 1`); n != 2 {
		t.Errorf("workspace 1 events have %d users, want 2 (the alias in workspace 2 merged nothing here)", n)
	}
	if n := countRows(t, one, `SELECT COUNT(DISTINCT user_id) FROM events WHERE workspace_id <> 1`); n != 1 {
		t.Errorf("workspace 2 events have %d users after the alias of cy to ana, want 1", n)
	}

	// Measurements.
	if _, err := two.InsertMeasurements(ctx, []store.Measurement{
		{Series: "nps", Timestamp: at(2, 0, 0, 0), Value: 42, Source: "test", MessageID: "n1"},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := one.AggregateMeasurements(ctx, store.MeasurementQuery{
		Series: "nps", Intervals: []store.Interval{{Start: at(1, 0, 0, 0), End: at(31, 0, 0, 0)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Count != 0 {
		t.Errorf("workspace 1 nps = %+v, want no measurements", got)
	}

	testWorkspaceMetadata(t, one, two)
	testWorkspaceDashboards(t, one, two)
	testWorkspaceAlertsAndKeys(t, one, two)
	testWorkspaceIndex(t, one, two)
}

// testWorkspaceMetadata checks KPIs, annotations, feedback, targets and reviews.
func testWorkspaceMetadata(t *testing.T, oneStore, twoStore Store) {
	ctx := context.Background()
	one, ok := oneStore.(KPIMetaStore)
	if !ok {
		t.Fatalf("%T does not implement storetest.KPIMetaStore", oneStore)
	}
	two := twoStore.(KPIMetaStore)

	// The same KPI id in both workspaces is two KPIs.
	for _, k := range []struct {
		s    KPIMetaStore
		name string
	}{{one, "Revenue one"}, {two, "Revenue two"}} {
		if err := k.s.CreateKPI(ctx, store.StoredKPI{ID: "revenue", Name: k.name, Direction: kpi.Up, Definition: []byte(`{"name":"` + k.name + `"}`)}); err != nil {
			t.Fatalf("CreateKPI in %s: %v", k.name, err)
		}
	}
	if err := two.CreateKPI(ctx, store.StoredKPI{ID: "orders", Name: "Orders", Direction: kpi.Up, Definition: []byte(`{"name":"Orders"}`)}); err != nil {
		t.Fatal(err)
	}
	kpis, err := one.ListKPIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(kpis) != 1 || kpis[0].Name != "Revenue one" {
		t.Errorf("workspace 1 KPIs = %+v, want only Revenue one", kpis)
	}
	if err := one.DeleteKPI(ctx, "orders"); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("workspace 1 DeleteKPI(orders of workspace 2) = %v, want not found", err)
	}
	if err := one.UpdateKPI(ctx, store.StoredKPI{ID: "orders", Name: "Taken", Direction: kpi.Up, Definition: []byte(`{}`)}); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("workspace 1 UpdateKPI(orders of workspace 2) = %v, want not found", err)
	}

	// Annotations and feedback.
	note, err := two.CreateAnnotation(ctx, kpi.Annotation{KPI: "revenue", Kind: kpi.Release, Date: date("2026-03-02"), Note: "two's release"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.Annotation(ctx, note.ID); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("workspace 1 Annotation(%d of workspace 2) = %v, want not found", note.ID, err)
	}
	if err := one.DeleteAnnotation(ctx, note.ID); kpi.ErrorCode(err) != kpi.ENOTFOUND {
		t.Errorf("workspace 1 DeleteAnnotation(%d of workspace 2) = %v, want not found", note.ID, err)
	}
	if list, err := one.ListAnnotations(ctx, store.AnnotationQuery{}); err != nil || len(list) != 0 {
		t.Errorf("workspace 1 annotations = %+v, %v, want none", list, err)
	}
	if list, err := two.ListAnnotations(ctx, store.AnnotationQuery{}); err != nil || len(list) != 1 {
		t.Errorf("workspace 2 annotations = %+v, %v, want its one", list, err)
	}
	if _, err := two.CreateFeedback(ctx, kpi.Feedback{KPI: "revenue", Text: "looks low", Author: "bo", Source: "ui", CreatedAt: at(3, 0, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if list, err := one.ListFeedback(ctx, "revenue"); err != nil || len(list) != 0 {
		t.Errorf("workspace 1 feedback = %+v, %v, want none", list, err)
	}

	// Targets, reviews and cadences.
	if _, err := twoStore.AddTargetRevision(ctx, kpi.TargetRevision{
		KPI: "revenue", AppliesFrom: day("2026-03-01"), Reason: "plan", Target: kpi.Target{Value: float(500), By: day("2026-06-30")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := twoStore.AddReview(ctx, kpi.Review{KPI: "revenue", Date: day("2026-03-15"), Reviewer: "bo", Decision: kpi.Keep, Note: "on track"}); err != nil {
		t.Fatal(err)
	}
	if err := twoStore.SetReviewCadence(ctx, "revenue", kpi.Monthly, at(3, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	h, err := oneStore.KPIHistory(ctx, "revenue")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Revisions) != 0 || len(h.Reviews) != 0 || h.Cadence != kpi.NoCadence {
		t.Errorf("workspace 1 history of revenue = %+v, want empty", h)
	}
	h, err = twoStore.KPIHistory(ctx, "revenue")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Revisions) != 1 || len(h.Reviews) != 1 || h.Cadence != kpi.Monthly {
		t.Errorf("workspace 2 history of revenue = %+v, want 1 revision, 1 review, monthly", h)
	}
}

// testWorkspaceDashboards checks dashboards, widgets and share links.
func testWorkspaceDashboards(t *testing.T, one, two Store) {
	ctx := context.Background()
	d := newDashboard(t, two, "Two's board")
	w, err := two.AddWidget(ctx, store.Widget{DashboardID: d.ID, Kind: "kpi", KPIs: []string{"revenue"}, W: 3, H: 2})
	if err != nil {
		t.Fatal(err)
	}
	link, token, err := two.CreateShareLink(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if link.WorkspaceID == 1 {
		t.Errorf("share link workspace = 1, want the second workspace")
	}

	if list, err := one.ListDashboards(ctx); err != nil || len(list) != 0 {
		t.Errorf("workspace 1 dashboards = %+v, %v, want none", list, err)
	}
	_, err = one.Dashboard(ctx, d.ID)
	wantCode(t, err, kpi.ENOTFOUND)
	_, err = one.UpdateDashboard(ctx, store.Dashboard{ID: d.ID, Name: "Taken"})
	wantCode(t, err, kpi.ENOTFOUND)
	_, err = one.AddWidget(ctx, store.Widget{DashboardID: d.ID, Kind: "kpi", KPIs: []string{"revenue"}, W: 3, H: 2})
	wantCode(t, err, kpi.ENOTFOUND)
	_, err = one.UpdateWidget(ctx, store.Widget{ID: w.ID, DashboardID: d.ID, Kind: "kpi", KPIs: []string{"revenue"}, W: 6, H: 2})
	wantCode(t, err, kpi.ENOTFOUND)
	wantCode(t, one.DeleteWidget(ctx, d.ID, w.ID), kpi.ENOTFOUND)
	wantCode(t, one.SaveLayout(ctx, d.ID, []store.WidgetPosition{{ID: w.ID, X: 6, Y: 0, W: 3, H: 2}}), kpi.ENOTFOUND)
	_, _, err = one.CreateShareLink(ctx, d.ID)
	wantCode(t, err, kpi.ENOTFOUND)
	if links, err := one.ListShareLinks(ctx, d.ID); err != nil || len(links) != 0 {
		t.Errorf("workspace 1 share links of dashboard %d = %+v, %v, want none", d.ID, links, err)
	}
	wantCode(t, one.RevokeShareLink(ctx, d.ID, link.ID), kpi.ENOTFOUND)
	wantCode(t, one.DeleteDashboard(ctx, d.ID), kpi.ENOTFOUND)

	// A token is looked up in every workspace and names its own.
	found, err := one.ShareLinkByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if found.WorkspaceID != link.WorkspaceID || found.DashboardID != d.ID {
		t.Errorf("ShareLinkByToken = %+v, want workspace %d, dashboard %d", found, link.WorkspaceID, d.ID)
	}

	got, err := two.Dashboard(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Two's board" || len(got.Widgets) != 1 || got.Widgets[0].W != 3 {
		t.Errorf("workspace 2 dashboard after workspace 1's attempts = %+v, want it unchanged", got)
	}
}

// testWorkspaceAlertsAndKeys checks alert rules, deliveries, report schedules
// and write keys.
func testWorkspaceAlertsAndKeys(t *testing.T, oneStore, twoStore Store) {
	ctx := context.Background()
	one, ok := oneStore.(AlertStore)
	if !ok {
		t.Fatalf("%T does not implement storetest.AlertStore", oneStore)
	}
	two := twoStore.(AlertStore)

	threshold := 10.0
	rule, err := two.CreateAlertRule(ctx, store.AlertRule{
		KPIID: "revenue", Name: "low revenue", Condition: store.AlertCondition{Kind: "below", Threshold: &threshold},
		Channels: store.AlertChannels{Emails: []string{"pm@example.com"}}, CreatedAt: at(2, 0, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rules, err := one.AlertRules(ctx); err != nil || len(rules) != 0 {
		t.Errorf("workspace 1 alert rules = %+v, %v, want none", rules, err)
	}
	_, err = one.AlertRule(ctx, rule.ID)
	wantCode(t, err, kpi.ENOTFOUND)
	renamed := rule
	renamed.Name = "taken"
	_, err = one.UpdateAlertRule(ctx, renamed)
	wantCode(t, err, kpi.ENOTFOUND)
	wantCode(t, one.DeleteAlertRule(ctx, rule.ID), kpi.ENOTFOUND)

	if err := two.RecordDelivery(ctx, store.Delivery{Kind: "alert", RefID: rule.ID, Channel: "email", Target: "pm@example.com", Attempt: 1, Status: "sent", At: at(2, 1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if list, err := one.Deliveries(ctx, "alert", rule.ID); err != nil || len(list) != 0 {
		t.Errorf("workspace 1 deliveries = %+v, %v, want none", list, err)
	}

	if _, err := two.CreateReportSchedule(ctx, store.ReportSchedule{Name: "weekly", Cron: "0 9 * * 1", Emails: []string{"pm@example.com"}, CreatedAt: at(2, 0, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if list, err := one.ReportSchedules(ctx); err != nil || len(list) != 0 {
		t.Errorf("workspace 1 report schedules = %+v, %v, want none", list, err)
	}

	// Write keys: the same name in both workspaces is two keys, and a secret
	// authenticates as the workspace that made it.
	if _, _, err := oneStore.CreateWriteKey(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	twoKey, secret, err := twoStore.CreateWriteKey(ctx, "web")
	if err != nil {
		t.Fatalf("CreateWriteKey(web) in workspace 2 with web in workspace 1: %v", err)
	}
	keys, err := oneStore.ListWriteKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].WorkspaceID != 1 {
		t.Errorf("workspace 1 write keys = %+v, want its one", keys)
	}
	found, err := oneStore.AuthenticateWriteKey(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if found.ID != twoKey.ID || found.WorkspaceID == 1 {
		t.Errorf("AuthenticateWriteKey(workspace 2's secret) = %+v, want key %d of workspace 2", found, twoKey.ID)
	}
	if err := oneStore.RevokeWriteKey(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := twoStore.AuthenticateWriteKey(ctx, secret); err != nil {
		t.Errorf("workspace 2's key after workspace 1 revoked its own web key: %v, want still active", err)
	}
	if n := countRows(t, oneStore, `SELECT COUNT(*) FROM write_keys WHERE revoked_at IS NULL`); n != 1 {
		t.Errorf("%d active write keys in all workspaces, want 1 (workspace 2's)", n)
	}
}

// testWorkspaceIndex checks that each workspace persists its own activity
// index: a save, a reset and a load touch only the view's workspace.
func testWorkspaceIndex(t *testing.T, oneStore, twoStore Store) {
	ctx := context.Background()
	one, ok := oneStore.(IndexBlobStore)
	if !ok {
		t.Fatalf("%T does not implement storetest.IndexBlobStore", oneStore)
	}
	two := twoStore.(IndexBlobStore)

	if err := one.SaveIndexBlobs(ctx, store.IndexSave{Meta: []byte(`{"ws":1}`), Blobs: []store.IndexBlob{{Key: "day-one", Data: []byte{1}}}}); err != nil {
		t.Fatalf("workspace 1 SaveIndexBlobs: %v", err)
	}
	// Workspace 2 has no stored meta yet, whatever workspace 1 stored.
	if err := two.SaveIndexBlobs(ctx, store.IndexSave{Reset: true, Meta: []byte(`{"ws":2}`), Blobs: []store.IndexBlob{{Key: "day-two", Data: []byte{2}}}}); err != nil {
		t.Fatalf("workspace 2 SaveIndexBlobs with no stored meta: %v", err)
	}

	load := func(s IndexBlobStore) string {
		var keys []string
		if err := s.LoadIndexBlobs(ctx, func(b store.IndexBlob) error {
			keys = append(keys, b.Key+"="+string(b.Data))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(keys, " ")
	}
	if got := load(one); !strings.Contains(got, "day-one=\x01") || strings.Contains(got, "day-two") || !strings.Contains(got, `{"ws":1}`) {
		t.Errorf("workspace 1 index after workspace 2's reset = %q, want its own meta and day-one only", got)
	}
	if got := load(two); !strings.Contains(got, "day-two=\x02") || strings.Contains(got, "day-one") || !strings.Contains(got, `{"ws":2}`) {
		t.Errorf("workspace 2 index = %q, want its own meta and day-two only", got)
	}
}
