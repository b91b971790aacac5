package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// quarterFile has one monthly count KPI: 100 signups a month at the
// baseline on 2026-12-31, 130 a month by the end of March 2027, reviewed
// monthly.
const quarterFile = `workspace: {name: Quarter, time_zone: UTC}
kpis:
  - id: signups
    name: Signups
    grain: month
    metric: {kind: count, event: signup}
    baseline: {value: 100, date: 2026-12-31}
    target: {value: 130, by: 2027-03-31}
    review: monthly
    benchmarks:
      - {kind: industry, name: Industry median, value: 120}
  - id: orders
    name: Orders
    metric: {kind: count, event: order}
`

// targetServer is a Server over a real SQLite store and engine, with a clock
// the test moves. Requests carry an editor's API token unless the test
// changes token.
type targetServer struct {
	srv   *Server
	db    *sqlite.DB
	auth  *auth.Store
	now   time.Time
	token string
}

func newTargetServer(t *testing.T) *targetServer {
	t.Helper()
	return newTargetServerFor(t, quarterFile)
}

// newTargetServerFor is newTargetServer with the KPI file file.
func newTargetServerFor(t *testing.T, file string) *targetServer {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.Parse("quarter.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	// 112 signups in January, 150 in February, 175 in March 2027.
	var events []store.Event
	for _, m := range []struct {
		day string
		n   int
	}{{"2027-01-10", 112}, {"2027-02-10", 150}, {"2027-03-10", 175}} {
		start, _ := time.Parse(time.DateOnly, m.day)
		for i := range m.n {
			events = append(events, store.Event{Name: "signup", DistinctID: fmt.Sprint(m.day, i), Timestamp: start.Add(time.Duration(i) * time.Minute),
				Source: "test", MessageID: fmt.Sprint(m.day, "-", i)})
		}
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	ts := &targetServer{db: db, auth: auth.NewStore(db.SQL(), auth.SQLite, nil)}
	clock := func() time.Time { return ts.now }
	ts.srv = NewServer(Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      engine.New(db, clock).WithHistory(db),
		Now:         clock,
		Targets:     db,
		Auth:        ts.auth,
	})
	ts.token = ts.newToken(t, "test-editor", auth.RoleEditor)
	return ts
}

// newToken creates an API token with role in the default workspace.
func (ts *targetServer) newToken(t *testing.T, name string, role auth.Role) string {
	t.Helper()
	_, secret, err := ts.auth.CreateToken(context.Background(), auth.DefaultWorkspaceID, name, role, "test")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func (ts *targetServer) send(t *testing.T, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, nil)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+ts.token)
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	return rec
}

// mustJSON sends a request, checks its status and decodes its JSON body.
func (ts *targetServer) mustJSON(t *testing.T, method, target, body string, status int) map[string]any {
	t.Helper()
	rec := ts.send(t, method, target, body)
	if rec.Code != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", method, target, rec.Code, status, rec.Body)
	}
	return decodeJSON(t, rec)
}

// monthStatus is the expected target and status of one month of the series.
type monthStatus struct {
	target float64
	status string
}

func (ts *targetServer) checkQuarter(t *testing.T, label string, wants []monthStatus) {
	t.Helper()
	body := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/series?grain=month&from=2027-01-01&to=2027-03-31", "", http.StatusOK)
	points, _ := body["points"].([]any)
	if len(points) != len(wants) {
		t.Fatalf("%s: %d points, want %d", label, len(points), len(wants))
	}
	for i, w := range wants {
		p := points[i].(map[string]any)
		target, _ := p["target"].(float64)
		if math.Abs(target-w.target) > 1e-9 {
			t.Errorf("%s, month %d: target = %v, want %.6f", label, i+1, p["target"], w.target)
		}
		if p["status"] != w.status {
			t.Errorf("%s, month %d: status = %v, want %s", label, i+1, p["status"], w.status)
		}
	}
}

func reviewOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	r, ok := body["review"].(map[string]any)
	if !ok {
		t.Fatalf("body has no review object: %v", body)
	}
	return r
}

// TestQuarterWalkThroughAPI walks the signups KPI through the first quarter
// of 2027 with a fake clock, revising the target through the API on
// 18 February (from 130 to 190, applying from 15 February) and recording
// reviews. The path runs from 100 at 2026-12-31 to the target at
// 2027-04-01, 91 days, and each month is judged at its end:
// January 100 + 30*32/91 = 110.549451 against the original target (112 is
// on track), February 100 + 90*60/91 = 159.340659 (150 is 5.9 % short: at
// risk) and March 190 (175 is 7.9 % short: at risk) against the revised one.
func TestQuarterWalkThroughAPI(t *testing.T) {
	ts := newTargetServer(t)
	january := monthStatus{100 + 30.0*32/91, "on_track"}

	// 1 February: January is judged; the KPI was never reviewed, so a
	// review is due.
	ts.now = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	ts.checkQuarter(t, "on 1 February", []monthStatus{january})
	review := reviewOf(t, ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups", "", http.StatusOK))
	if review["cadence"] != "monthly" || review["due"] != true || review["last_review"] != nil {
		t.Errorf("review on 1 February = %v, want monthly, due, never reviewed", review)
	}

	// 18 February: the target is raised and the KPI reviewed.
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)
	created := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets",
		`{"value": 190, "by": "2027-03-31", "applies_from": "2027-02-15", "reason": "The campaign doubled signups", "author": "ana"}`, http.StatusCreated)
	if created["value"] != 190.0 || created["applies_from"] != "2027-02-15" || created["author"] != "ana" || created["source"] != "api" {
		t.Errorf("created revision = %v", created)
	}
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "keep", "note": "Raised the target first"}`, http.StatusCreated)
	review = reviewOf(t, ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups", "", http.StatusOK))
	if review["due"] != false || review["next_due"] != "2027-03-18" {
		t.Errorf("review after reviewing on 18 February = %v, want not due, next due 2027-03-18", review)
	}

	// 17 March: not due yet. 18 March: due again.
	ts.now = time.Date(2027, 3, 17, 23, 0, 0, 0, time.UTC)
	if r := reviewOf(t, ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups", "", http.StatusOK)); r["due"] != false {
		t.Errorf("review on 17 March = %v, want not due", r)
	}
	ts.now = time.Date(2027, 3, 18, 0, 0, 0, 0, time.UTC)
	if r := reviewOf(t, ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups", "", http.StatusOK)); r["due"] != true {
		t.Errorf("review on 18 March = %v, want due", r)
	}

	// 1 April: January keeps its original target and status; February and
	// March are judged against the revision.
	ts.now = time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	ts.checkQuarter(t, "on 1 April", []monthStatus{january, {100 + 90.0*60/91, "at_risk"}, {190, "at_risk"}})

	// The review on 1 April lowers the target for the next quarter.
	adjusted := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/reviews",
		`{"reviewer": "bo", "decision": "adjust_target", "note": "Campaign over", "target": {"value": 170, "by": "2027-06-30"}}`, http.StatusCreated)
	target, _ := adjusted["target"].(map[string]any)
	if target == nil || target["value"] != 170.0 || target["applies_from"] != "2027-04-01" || target["author"] != "bo" || target["reason"] != "Campaign over" {
		t.Errorf("adjusting review's target = %v, want 170 from 2027-04-01 by bo for the review's note", target)
	}

	targets := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/targets", "", http.StatusOK)
	list, _ := targets["targets"].([]any)
	if len(list) != 3 {
		t.Fatalf("targets = %v, want the file's and two revisions", targets)
	}
	wantValues := []float64{130, 190, 170}
	for i, item := range list {
		rev := item.(map[string]any)
		if rev["value"] != wantValues[i] {
			t.Errorf("target %d value = %v, want %g", i, rev["value"], wantValues[i])
		}
		if inForce := rev["in_force"] == true; inForce != (i == 2) {
			t.Errorf("target %d in_force = %v", i, rev["in_force"])
		}
	}

	reviews := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/reviews", "", http.StatusOK)
	history, _ := reviews["reviews"].([]any)
	if len(history) != 2 {
		t.Fatalf("reviews = %v, want 2", reviews)
	}
	if first := history[0].(map[string]any); first["decision"] != "adjust_target" || first["date"] != "2027-04-01" {
		t.Errorf("newest review = %v, want adjust_target on 2027-04-01", first)
	}
	kpiBody := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups", "", http.StatusOK)
	if tgt, _ := kpiBody["target"].(map[string]any); tgt["value"] != 170.0 {
		t.Errorf("KPI target = %v, want the 170 now in force", kpiBody["target"])
	}

	// The series carries the benchmark line.
	series := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/series?grain=month&from=2027-01-01&to=2027-03-31", "", http.StatusOK)
	benchmarks, _ := series["benchmarks"].([]any)
	if len(benchmarks) != 1 || benchmarks[0].(map[string]any)["value"] != 120.0 {
		t.Errorf("benchmarks = %v, want the industry median 120", series["benchmarks"])
	}
}

func TestRetireReview(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 3, 5, 9, 0, 0, 0, time.UTC)
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "retire", "note": "Replaced by activation"}`, http.StatusCreated)

	ts.now = time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	ts.checkQuarterStatuses(t, []string{"on_track", "on_track", "retired"})
	review := reviewOf(t, ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups", "", http.StatusOK))
	if review["retired"] != true || review["due"] != false {
		t.Errorf("review of a retired KPI = %v, want retired and not due", review)
	}
}

func (ts *targetServer) checkQuarterStatuses(t *testing.T, want []string) {
	t.Helper()
	body := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/series?grain=month&from=2027-01-01&to=2027-03-31", "", http.StatusOK)
	points, _ := body["points"].([]any)
	if len(points) != len(want) {
		t.Fatalf("%d points, want %d", len(points), len(want))
	}
	for i, w := range want {
		if got := points[i].(map[string]any)["status"]; got != w {
			t.Errorf("month %d: status = %v, want %s", i+1, got, w)
		}
	}
}

func TestTargetAndReviewBadInput(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)

	tests := []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"unknown KPI target", "POST", "/api/v1/kpis/nope/targets", `{"value": 1, "by": "2027-03-31", "reason": "x"}`, 404, `KPI "nope" not found`},
		{"unknown KPI review", "POST", "/api/v1/kpis/nope/reviews", `{"reviewer": "bo", "decision": "keep"}`, 404, `KPI "nope" not found`},
		{"unknown KPI list", "GET", "/api/v1/kpis/nope/targets", ``, 404, `KPI "nope" not found`},
		{"applies_from not a date", "POST", "/api/v1/kpis/signups/targets", `{"value": 1, "by": "2027-03-31", "applies_from": "next week", "reason": "x"}`, 400, `applies_from: "next week" is not a date (want YYYY-MM-DD)`},
		{"by not a date", "POST", "/api/v1/kpis/signups/targets", `{"value": 1, "by": "2027-13-01", "reason": "x"}`, 400, `by: "2027-13-01" is not a date`},
		{"negative value", "POST", "/api/v1/kpis/signups/targets", `{"value": -5, "by": "2027-03-31", "reason": "x"}`, 400, "value -5 is negative (want 0 or more)"},
		{"NaN value as text", "POST", "/api/v1/kpis/signups/targets", `{"value": "NaN", "by": "2027-03-31", "reason": "x"}`, 400, `value "NaN" is not a number`},
		{"NaN value bare", "POST", "/api/v1/kpis/signups/targets", `{"value": NaN, "by": "2027-03-31", "reason": "x"}`, 400, "request body is not valid"},
		{"change without percent", "POST", "/api/v1/kpis/signups/targets", `{"change": "20", "by": "2027-03-31", "reason": "x"}`, 400, `change: 20 is not a percentage (want a value such as +20%)`},
		{"value and change", "POST", "/api/v1/kpis/signups/targets", `{"value": 1, "change": "+5%", "by": "2027-03-31", "reason": "x"}`, 400, "set value or change, not both"},
		{"no reason", "POST", "/api/v1/kpis/signups/targets", `{"value": 1, "by": "2027-03-31"}`, 400, "reason is missing"},
		{"unknown field", "POST", "/api/v1/kpis/signups/targets", `{"valu": 1, "by": "2027-03-31", "reason": "x"}`, 400, `unknown field "valu"`},
		{"relative without baseline", "POST", "/api/v1/kpis/orders/targets", `{"change": "+5%", "by": "2027-03-31", "reason": "x"}`, 400, "has no baseline"},
		{"unknown decision", "POST", "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "postpone"}`, 400, `decision "postpone" is not valid (want keep, adjust_target or retire)`},
		{"review date not a date", "POST", "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "keep", "date": "18/02/2027"}`, 400, `date: "18/02/2027" is not a date`},
		{"adjust without target", "POST", "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "adjust_target"}`, 400, "adjust_target needs the new target"},
		{"adjust with negative target", "POST", "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "adjust_target", "target": {"value": -1, "by": "2027-06-30"}}`, 400, "target: value -1 is negative"},
		{"keep with target", "POST", "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "keep", "target": {"value": 1, "by": "2027-06-30"}}`, 400, "only decision adjust_target takes a target"},
		{"unknown cadence", "PUT", "/api/v1/kpis/orders/review", `{"cadence": "yearly"}`, 400, `review cadence "yearly" is not valid (want weekly, monthly or quarterly)`},
		{"cadence set in the file", "PUT", "/api/v1/kpis/signups/review", `{"cadence": "weekly"}`, 409, "sets review: monthly in its definition"},
		{"empty body", "POST", "/api/v1/kpis/signups/targets", ``, 400, "request body is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ts.send(t, tt.method, tt.path, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body:\n%s", rec.Code, tt.status, rec.Body)
			}
			if _, msg := apiError(t, rec); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
		})
	}

	for _, table := range []string{"target_revisions", "reviews", "review_cadences"} {
		var n int
		if err := ts.db.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after bad input, want 0", table, n)
		}
	}
}

func TestReviewCadenceForKPIWithoutOne(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)

	st := ts.mustJSON(t, http.MethodPut, "/api/v1/kpis/orders/review", `{"cadence": "weekly"}`, http.StatusOK)
	if st["cadence"] != "weekly" || st["due"] != true {
		t.Errorf("state after setting weekly = %v, want weekly and due (never reviewed)", st)
	}
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/orders/reviews", `{"reviewer": "bo", "decision": "keep", "date": "2027-02-17"}`, http.StatusCreated)
	review := reviewOf(t, ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/orders", "", http.StatusOK))
	if review["due"] != false || review["next_due"] != "2027-02-24" {
		t.Errorf("review = %v, want not due until 2027-02-24", review)
	}
}

func TestKPIPageShowsTargetsAndReviews(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets",
		`{"value": 190, "by": "2027-03-31", "applies_from": "2027-02-15", "reason": "The campaign doubled signups", "author": "ana",
		  "milestones": [{"date": "2027-02-28", "value": 170}]}`, http.StatusCreated)

	// Never reviewed, so due: the card and the page show the label.
	dashboard := ts.send(t, http.MethodGet, "/", "")
	if dashboard.Code != http.StatusOK {
		t.Fatalf("GET /: status %d", dashboard.Code)
	}
	card := cardHTML(t, dashboard.Body.String(), "signups")
	if !strings.Contains(card, `class="review-label review-due">review due<`) {
		t.Errorf("signups card has no review-due label:\n%s", card)
	}
	if strings.Contains(cardHTML(t, dashboard.Body.String(), "orders"), "review due") {
		t.Errorf("orders card, without a cadence, shows review due")
	}

	page := ts.send(t, http.MethodGet, "/kpis/signups?grain=month&from=2027-01-01&to=2027-03-31", "").Body.String()
	for _, want := range []string{
		`review-due">review due<`,
		"190 by 2027-03-31", // the target in force
		"The campaign doubled signups",
		"170 by 2027-02-28",
		"set in the KPI file",
		"No reviews yet",
		`"benchmarks":[{"name":"Industry median"`,
		`<script src="/assets/reference-lines.js"></script>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("KPI page does not contain %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("KPI page has an inline script")
	}

	// After a review the label goes, and the review is listed.
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/reviews", `{"reviewer": "bo", "decision": "keep", "note": "On course"}`, http.StatusCreated)
	page = ts.send(t, http.MethodGet, "/kpis/signups", "").Body.String()
	if strings.Contains(page, "review due") {
		t.Errorf("KPI page still shows review due after a review")
	}
	for _, want := range []string{"next by 2027-03-18", "Last review 2027-02-18 by bo: keep", "<td>On course</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("KPI page does not contain %q", want)
		}
	}
}

// cardHTML returns the dashboard card of the KPI id.
func cardHTML(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `data-kpi="`+id+`"`)
	if start < 0 {
		t.Fatalf("no card for %s", id)
	}
	end := strings.Index(page[start:], "</article>")
	return page[start : start+end]
}

func TestReferenceLinesAsset(t *testing.T) {
	ts := newTargetServer(t)
	rec := ts.send(t, http.MethodGet, "/assets/reference-lines.js", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "northstarReferenceLines") {
		t.Errorf("GET /assets/reference-lines.js: status %d", rec.Code)
	}
}

func TestKPIFormSetsReviewCadence(t *testing.T) {
	ms := newMetaServer(t)
	srv := NewServer(Config{
		Definitions: func() *kpi.Definitions { return ms.defs },
		Series:      engine.New(ms.db, func() time.Time { return testNow }).WithHistory(ms.db),
		Now:         func() time.Time { return testNow },
		KPIMeta:     ms.db,
		Targets:     ms.db,
		Auth:        auth.NewStore(ms.db.SQL(), auth.SQLite, nil), // the store of ms.token
	})
	ms.Server = srv

	values := url.Values{
		"id": {"weekly_orders"}, "name": {"Weekly orders"}, "direction": {"up"}, "grain": {"week"},
		"metric_kind": {"count"}, "metric_event": {"order"}, "review": {"weekly"},
	}
	wantStatus(t, "POST /kpis/new", ms.postForm("/kpis/new", values), http.StatusSeeOther)

	k := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/kpis/weekly_orders", ""))
	review, _ := k["review"].(map[string]any)
	if review["cadence"] != "weekly" || review["due"] != true {
		t.Errorf("review of the new KPI = %v, want weekly and due", review)
	}
	if edit := ms.send(http.MethodGet, "/kpis/weekly_orders/edit", "").Body.String(); !strings.Contains(edit, `<option value="weekly" selected>weekly</option>`) {
		t.Errorf("the edit form does not select the weekly cadence")
	}

	rec := ms.send(http.MethodPut, "/api/v1/kpis/weekly_orders/review", `{"cadence": "monthly"}`)
	wantStatus(t, "PUT review of a KPI that sets one", rec, http.StatusConflict)
	if _, msg := apiError(t, rec); !strings.Contains(msg, "edit the KPI to change it") {
		t.Errorf("message %q does not say to edit the KPI", msg)
	}

	values.Set("review", "yearly")
	rec = ms.postForm("/kpis/weekly_orders/edit", values)
	wantStatus(t, "POST edit with an unknown cadence", rec, http.StatusBadRequest)
	if !strings.Contains(rec.Body.String(), `id="review-error">&#34;yearly&#34; is not valid (want weekly, monthly or quarterly)`) {
		t.Errorf("the form does not show the cadence error next to the field")
	}
}

func (ts *targetServer) postForm(t *testing.T, target string, values url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+ts.token)
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	return rec
}

func TestKPIPageReviewAndTargetForms(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)

	// A target value that is not a number re-renders the page with the
	// message, and stores nothing.
	rec := ts.postForm(t, "/kpis/signups/targets", url.Values{"value": {"lots"}, "by": {"2027-03-31"}, "reason": {"campaign"}})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("target form with a bad value: status %d, want 400", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), `value &#34;lots&#34; is not a number`) {
		t.Errorf("the page does not show the value error")
	}
	if !strings.Contains(rec.Body.String(), `name="reason" value="campaign"`) {
		t.Errorf("the form does not keep what was sent")
	}

	rec = ts.postForm(t, "/kpis/signups/targets", url.Values{"value": {"190"}, "by": {"2027-03-31"}, "applies_from": {"2027-02-15"}, "reason": {"campaign"}, "author": {"ana"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/kpis/signups#target-history" {
		t.Fatalf("target form: status %d to %q, want 303 to the target history", rec.Code, rec.Header().Get("Location"))
	}

	rec = ts.postForm(t, "/kpis/signups/reviews", url.Values{"reviewer": {"bo"}, "decision": {"postpone"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `decision &#34;postpone&#34; is not valid`) {
		t.Errorf("review form with an unknown decision: status %d, want 400 with the message", rec.Code)
	}
	rec = ts.postForm(t, "/kpis/signups/reviews", url.Values{"reviewer": {"bo"}, "decision": {"adjust_target"}, "note": {"Lower it"},
		"target_value": {"160"}, "target_by": {"2027-06-30"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("review form: status %d, want 303; body:\n%s", rec.Code, rec.Body)
	}

	targets := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/targets", "", http.StatusOK)
	list, _ := targets["targets"].([]any)
	if len(list) != 3 {
		t.Fatalf("targets = %v, want the file's, the form's and the review's", targets)
	}
	if last := list[2].(map[string]any); last["value"] != 160.0 || last["author"] != "bo" || last["reason"] != "Lower it" {
		t.Errorf("the review's revision = %v", last)
	}
	reviews := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/reviews", "", http.StatusOK)
	if history, _ := reviews["reviews"].([]any); len(history) != 1 {
		t.Errorf("reviews = %v, want the one valid review", reviews["reviews"])
	}
}

// auditEntries returns the audit log entries about targets and reviews of
// the default workspace, newest first, read with an admin token. Entries
// about the tokens the test creates are left out.
func (ts *targetServer) auditEntries(t *testing.T) []map[string]any {
	t.Helper()
	editor := ts.token
	ts.token = ts.newToken(t, fmt.Sprint("test-admin-", time.Now().UnixNano()), auth.RoleAdmin)
	defer func() { ts.token = editor }()

	body := ts.mustJSON(t, http.MethodGet, "/api/v1/audit", "", http.StatusOK)
	list, _ := body["entries"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		entry := e.(map[string]any)
		if entry["object_type"] != "api_token" {
			out = append(out, entry)
		}
	}
	return out
}

func TestAuditLogRecordsTargetChange(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)

	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets",
		`{"value": 190, "by": "2027-03-31", "applies_from": "2027-02-15", "reason": "campaign"}`, http.StatusCreated)

	entries := ts.auditEntries(t)
	if len(entries) != 1 {
		t.Fatalf("audit log = %v, want one entry", entries)
	}
	e := entries[0]
	if e["object_type"] != "target" || e["object_id"] != "signups" || e["action"] != "update" || e["actor"] != "token:test-editor" {
		t.Errorf("entry = %v, want an update of the target of signups by token:test-editor", e)
	}
	before, _ := e["before"].(map[string]any)
	after, _ := e["after"].(map[string]any)
	if before["value"] != 130.0 || before["by"] != "2027-03-31" || before["source"] != "file" {
		t.Errorf("before = %v, want the file's 130 by 2027-03-31", e["before"])
	}
	if after["value"] != 190.0 || after["applies_from"] != "2027-02-15" || after["reason"] != "campaign" || after["author"] != "token:test-editor" {
		t.Errorf("after = %v, want 190 from 2027-02-15 for the campaign by the token", e["after"])
	}

	// A review that adjusts the target records the review and the change,
	// whose before is the revision above; the reviewer is the token.
	ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/reviews",
		`{"decision": "adjust_target", "note": "Lower it", "target": {"value": 160, "by": "2027-06-30"}}`, http.StatusCreated)
	entries = ts.auditEntries(t)
	if len(entries) != 3 {
		t.Fatalf("audit log has %d entries, want 3: %v", len(entries), entries)
	}
	change, review := entries[0], entries[1]
	if review["object_type"] != "review" || review["after"].(map[string]any)["reviewer"] != "token:test-editor" {
		t.Errorf("review entry = %v, want a review by token:test-editor", review)
	}
	if change["object_type"] != "target" || change["before"].(map[string]any)["value"] != 190.0 || change["after"].(map[string]any)["value"] != 160.0 {
		t.Errorf("target entry = %v, want 190 before and 160 after", change)
	}
}

func TestTargetRoutesNeedEditor(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)
	ts.token = ts.newToken(t, "test-viewer", auth.RoleViewer)

	ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/targets", "", http.StatusOK)
	ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/reviews", "", http.StatusOK)
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 1, "by": "2027-03-31", "reason": "x"}`},
		{http.MethodPost, "/api/v1/kpis/signups/reviews", `{"decision": "keep"}`},
		{http.MethodPut, "/api/v1/kpis/orders/review", `{"cadence": "weekly"}`},
	} {
		if rec := ts.send(t, c.method, c.path, c.body); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s as a viewer: status %d, want 403", c.method, c.path, rec.Code)
		}
	}
	for _, table := range []string{"target_revisions", "reviews", "review_cadences"} {
		var n int
		if err := ts.db.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after a viewer's requests, want 0", table, n)
		}
	}

	// A viewer's KPI page shows the history but not the forms.
	page := ts.send(t, http.MethodGet, "/kpis/signups", "").Body.String()
	if strings.Contains(page, "Record a review") || !strings.Contains(page, "Target history") {
		t.Errorf("a viewer's KPI page should show the target history without the forms")
	}
}

func TestTargetCreateInForceToday(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)

	today := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 150, "by": "2027-03-31", "reason": "Campaign", "applies_from": "2027-02-18"}`, http.StatusCreated)
	if today["in_force"] != true {
		t.Errorf("revision applying from today (2027-02-18): in_force = %v, want true", today["in_force"])
	}
	tomorrow := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 160, "by": "2027-03-31", "reason": "Campaign", "applies_from": "2027-02-19"}`, http.StatusCreated)
	if tomorrow["in_force"] != false {
		t.Errorf("revision applying from tomorrow (2027-02-19): in_force = %v, want false", tomorrow["in_force"])
	}
	// Without applies_from the revision applies from today, after the one
	// above with the same date, so it is the one in force.
	defaulted := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 155, "by": "2027-03-31", "reason": "Campaign"}`, http.StatusCreated)
	if defaulted["applies_from"] != "2027-02-18" || defaulted["in_force"] != true {
		t.Errorf("revision without applies_from: applies_from %v in_force %v, want 2027-02-18 and true", defaulted["applies_from"], defaulted["in_force"])
	}

	list, _ := ts.mustJSON(t, http.MethodGet, "/api/v1/kpis/signups/targets", "", http.StatusOK)["targets"].([]any)
	var inForce []float64
	for _, item := range list {
		if rev := item.(map[string]any); rev["in_force"] == true {
			inForce = append(inForce, rev["value"].(float64))
		}
	}
	if len(inForce) != 1 || inForce[0] != 155 {
		t.Errorf("values in force in the list = %v, want only 155", inForce)
	}

	review := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/reviews",
		`{"reviewer": "bo", "decision": "adjust_target", "note": "Campaign over", "target": {"value": 170, "by": "2027-06-30"}}`, http.StatusCreated)
	if target, _ := review["target"].(map[string]any); target == nil || target["in_force"] != true {
		t.Errorf("adjusting review's target = %v, want it in force from today", review["target"])
	}
}

func TestTargetCreateInForceWorkspaceTimeZone(t *testing.T) {
	ts := newTargetServerFor(t, strings.Replace(quarterFile, "time_zone: UTC", "time_zone: America/New_York", 1))
	// 02:00 UTC on 19 February is 21:00 on 18 February in New York (UTC-5).
	ts.now = time.Date(2027, 2, 19, 2, 0, 0, 0, time.UTC)

	today := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 150, "by": "2027-03-31", "reason": "Campaign", "applies_from": "2027-02-18"}`, http.StatusCreated)
	if today["in_force"] != true {
		t.Errorf("revision applying from 2027-02-18, today in New York: in_force = %v, want true", today["in_force"])
	}
	tomorrow := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 160, "by": "2027-03-31", "reason": "Campaign", "applies_from": "2027-02-19"}`, http.StatusCreated)
	if tomorrow["in_force"] != false {
		t.Errorf("revision applying from 2027-02-19, tomorrow in New York: in_force = %v, want false", tomorrow["in_force"])
	}
}

// TestTargetCreateInForceAtMidnight checks a revision created at the first
// instant of the day it applies from: it is in force at once.
func TestTargetCreateInForceAtMidnight(t *testing.T) {
	ts := newTargetServer(t)
	ts.now = time.Date(2027, 2, 18, 0, 0, 0, 0, time.UTC)

	rev := ts.mustJSON(t, http.MethodPost, "/api/v1/kpis/signups/targets", `{"value": 150, "by": "2027-03-31", "reason": "Campaign", "applies_from": "2027-02-18"}`, http.StatusCreated)
	if rev["in_force"] != true {
		t.Errorf("revision applying from 2027-02-18, created at 00:00:00 that day: in_force = %v, want true", rev["in_force"])
	}
}
