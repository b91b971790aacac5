package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

// metaKPIFile is the KPI file of the meta tests: one objective and one KPI
// that the UI must treat as managed by code.
const metaKPIFile = `workspace: {name: Acme}
objectives:
  - id: growth
    name: Grow revenue
kpis:
  - id: orders
    name: Orders placed
    objective: growth
    owner: sales@example.com
    unit: orders
    metric: {kind: count, event: order}
    target: {value: 100, by: 2026-12-31}
`

// metaServer is a server over a real engine and a fresh SQLite database.
type metaServer struct {
	*Server
	db    *sqlite.DB
	defs  *kpi.Definitions
	token string // an editor's API token, sent by send and postForm
}

// newMetaServer stores these orders, in UTC:
//
//	u3 Feb 10 amount 7  plan pro
//	u1 Mar 2  amount 10 plan pro
//	u1 Mar 3  amount 5  plan free
//	u2 Mar 5  amount 20 plan pro
//
// and serves them with an activity index built before any KPI is made in
// the UI, as a running server has.
func newMetaServer(t *testing.T) *metaServer {
	t.Helper()
	ctx := context.Background()

	defs, err := kpi.Parse("kpis.yaml", []byte(metaKPIFile))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "northstar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	var events []store.Event
	for i, e := range []struct {
		user, day string
		amount    float64
		plan      string
	}{
		{"u3", "2026-02-10", 7, "pro"},
		{"u1", "2026-03-02", 10, "pro"},
		{"u1", "2026-03-03", 5, "free"},
		{"u2", "2026-03-05", 20, "pro"},
	} {
		ts, err := time.Parse(time.DateOnly, e.day)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, store.Event{
			Name: "order", DistinctID: e.user, Timestamp: ts.Add(9 * time.Hour), Source: "test", MessageID: fmt.Sprint(i),
			Properties: map[string]any{"amount": e.amount, "plan": e.plan},
		})
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	ix := engine.NewActivityIndex(db, time.UTC, engine.DeclaredFor(defs), nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	srv := newMetaServerOn(db, defs, engine.NewWithIndex(db, ix, func() time.Time { return testNow }))
	_, token, err := srv.auth.(*auth.Store).CreateToken(ctx, auth.DefaultWorkspaceID, "test-editor", auth.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &metaServer{Server: srv, db: db, defs: defs, token: token}
}

// newMetaServerOn returns a server on db, whose account store is in db too.
func newMetaServerOn(db *sqlite.DB, defs *kpi.Definitions, series SeriesComputer) *Server {
	return NewServer(Config{
		Definitions: func() *kpi.Definitions { return defs },
		Series:      series,
		Logger:      slog.New(slog.DiscardHandler),
		Now:         func() time.Time { return testNow },
		KPIMeta:     db,
		Auth:        auth.NewStore(db.SQL(), auth.SQLite, nil),
	})
}

func (ms *metaServer) send(method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+ms.token)
	ms.ServeHTTP(rec, req)
	return rec
}

func (ms *metaServer) postForm(target string, values url.Values) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+ms.token)
	ms.ServeHTTP(rec, req)
	return rec
}

func wantStatus(t *testing.T, label string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", label, rec.Code, status, rec.Body)
	}
}

const signupsKPI = `{"id": "pro_revenue", "name": "Revenue from pro orders", "objective": "growth",
	"owner": "sales@example.com", "unit": "EUR", "grain": "month",
	"metric": {"kind": "sum", "event": "order", "property": "amount", "where": {"plan": "pro"}},
	"target": {"value": 50, "by": "2026-12-31"}}`

func TestKPICreateEditDelete(t *testing.T) {
	ms := newMetaServer(t)

	rec := ms.send(http.MethodPost, "/api/v1/kpis", signupsKPI)
	wantStatus(t, "POST /api/v1/kpis", rec, http.StatusCreated)
	body := decodeJSON(t, rec)
	if body["id"] != "pro_revenue" || body["managed_by"] != "ui" {
		t.Errorf("created KPI = %v", body)
	}
	if w, _ := body["warnings"].([]any); len(w) != 0 {
		t.Errorf("warnings = %v, want none for a complete KPI", w)
	}

	list := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/kpis", ""))
	managed := map[string]any{}
	for _, k := range list["kpis"].([]any) {
		m := k.(map[string]any)
		managed[m["id"].(string)] = m["managed_by"]
	}
	if managed["orders"] != "code" || managed["pro_revenue"] != "ui" {
		t.Errorf("managed_by in the list = %v, want orders code and pro_revenue ui", managed)
	}

	rec = ms.send(http.MethodPut, "/api/v1/kpis/pro_revenue", `{"name": "Pro revenue", "metric": {"kind": "sum", "event": "order", "property": "amount"}}`)
	wantStatus(t, "PUT /api/v1/kpis/pro_revenue", rec, http.StatusOK)
	body = decodeJSON(t, rec)
	if body["name"] != "Pro revenue" {
		t.Errorf("name after PUT = %v", body["name"])
	}
	warned := map[string]bool{}
	for _, w := range body["warnings"].([]any) {
		warned[w.(map[string]any)["field"].(string)] = true
	}
	if !warned["owner"] || !warned["target"] || !warned["objective"] {
		t.Errorf("warnings after PUT = %v, want owner, target and objective as northstar check gives", body["warnings"])
	}

	rec = ms.send(http.MethodPut, "/api/v1/kpis/pro_revenue", `{"id": "other", "name": "X", "metric": {"kind": "count", "event": "order"}}`)
	wantStatus(t, "PUT with another id", rec, http.StatusBadRequest)

	rec = ms.send(http.MethodDelete, "/api/v1/kpis/pro_revenue", "")
	wantStatus(t, "DELETE /api/v1/kpis/pro_revenue", rec, http.StatusNoContent)
	wantStatus(t, "GET after DELETE", ms.send(http.MethodGet, "/api/v1/kpis/pro_revenue", ""), http.StatusNotFound)
	wantStatus(t, "DELETE again", ms.send(http.MethodDelete, "/api/v1/kpis/pro_revenue", ""), http.StatusNotFound)
}

func TestKPIManagedByCodeIsReadOnly(t *testing.T) {
	ms := newMetaServer(t)

	for _, c := range []struct{ method, target, body string }{
		{http.MethodPut, "/api/v1/kpis/orders", `{"name": "Renamed", "metric": {"kind": "count", "event": "order"}}`},
		{http.MethodDelete, "/api/v1/kpis/orders", ""},
		{http.MethodPost, "/api/v1/kpis", `{"id": "orders", "name": "Clash", "metric": {"kind": "count", "event": "order"}}`},
	} {
		rec := ms.send(c.method, c.target, c.body)
		wantStatus(t, c.method+" "+c.target, rec, http.StatusConflict)
		code, msg := apiError(t, rec)
		if code != kpi.ECONFLICT || !strings.Contains(msg, "orders") || !strings.Contains(msg, "file") {
			t.Errorf("%s %s: error %s %q, want a conflict naming the KPI and the file", c.method, c.target, code, msg)
		}
	}
	rec := ms.send(http.MethodPut, "/api/v1/kpis/orders", `{"name": "Renamed", "metric": {"kind": "count", "event": "order"}}`)
	if _, msg := apiError(t, rec); !strings.Contains(msg, "managed by code") || !strings.Contains(msg, "edit the file") {
		t.Errorf("PUT on a KPI of the file: %q, want it to say the KPI is managed by code and to edit the file", msg)
	}

	wantStatus(t, "GET /kpis/orders/edit", ms.send(http.MethodGet, "/kpis/orders/edit", ""), http.StatusConflict)
	page := ms.send(http.MethodGet, "/kpis/orders", "")
	wantStatus(t, "GET /kpis/orders", page, http.StatusOK)
	if !strings.Contains(page.Body.String(), "Managed by code") {
		t.Error("the KPI page of a file KPI does not say it is managed by code")
	}
}

func TestKPICreateInvalid(t *testing.T) {
	ms := newMetaServer(t)

	cases := []struct {
		body, field, text string
	}{
		{`{"id": "a", "name": "A", "direction": "sideways", "metric": {"kind": "count", "event": "x"}}`, "direction", `"sideways" is not valid (want up or down`},
		{`{"id": "a", "name": "A", "metric": {"kind": "count", "event": "x"}, "target": {"value": 5, "by": "2026-02-30"}}`, "target.by", `"2026-02-30" is not a date (want YYYY-MM-DD)`},
		{`{"id": "a", "name": "A", "objective": "nope", "metric": {"kind": "count", "event": "x"}}`, "objective", `"nope" is not a defined objective`},
		{`{"id": "A-1", "name": "A", "metric": {"kind": "count", "event": "x"}}`, "id", `"A-1" is not a valid id`},
		{`{"id": "a", "name": "A", "metric": {"kind": "formula", "formula": "orders / nothing"}}`, "metric.formula", "nothing"},
		{`{"id": "new", "name": "A", "metric": {"kind": "count", "event": "x"}}`, "id", `"new" is reserved for the New KPI page`},
		{`{"id": "a", "name": "` + strings.Repeat("n", 1000) + `", "metric": {"kind": "count", "event": "x"}}`, "name", "is 1000 characters long; the limit is 100"},
		{`{"id": "a", "name": "A", "owner": "` + strings.Repeat("o", 201) + `", "metric": {"kind": "count", "event": "x"}}`, "owner", "is 201 characters long; the limit is 200"},
	}
	for _, c := range cases {
		rec := ms.send(http.MethodPost, "/api/v1/kpis", c.body)
		wantStatus(t, c.body, rec, http.StatusBadRequest)
		var body struct {
			Error struct {
				Code     string `json:"code"`
				Message  string `json:"message"`
				Findings []struct {
					Severity, Field, Message string
				} `json:"findings"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Error.Code != kpi.EINVALID || len(body.Error.Findings) == 0 {
			t.Errorf("%s: error = %+v", c.body, body.Error)
			continue
		}
		f := body.Error.Findings[0]
		if f.Field != c.field || f.Severity != "error" || !strings.Contains(f.Message, c.text) || !strings.Contains(body.Error.Message, c.text) {
			t.Errorf("%s: first finding %s %s %q, want error on %s with %q", c.body, f.Severity, f.Field, f.Message, c.field, c.text)
		}
	}

	for _, body := range []string{`{"id": "a", "colour": "red"}`, `not json {`, ``} {
		rec := ms.send(http.MethodPost, "/api/v1/kpis", body)
		wantStatus(t, body, rec, http.StatusBadRequest)
	}

	var n int
	if err := ms.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM kpis`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d KPIs stored after invalid requests, want 0", n)
	}
}

// TestUIKPISeries checks the series of KPIs made in the UI against values
// computed by hand from the orders of newMetaServer. The activity index was
// built before the KPIs existed: the filtered sum uses a property and a
// dimension it does not keep, so it must fall back to SQL.
func TestKPICreateDecodeErrors(t *testing.T) {
	ms := newMetaServer(t)

	cases := []struct{ body, want string }{
		{`{"id": "f", "name": "F", "metric": {"kind": "funnel", "steps": ["a", "b"], "window": "30d"}}`,
			`metric.window: found the text "30d", expected a whole number of days, e.g. 30`},
		{`{"id": "f", "name": "F", "grain": ["week"], "metric": {"kind": "count", "event": "x"}}`,
			`grain: found a list, expected text`},
		{`{"id": "f", "name": "F", "metric": "count"}`,
			`metric: found the text "count", expected a mapping of field: value`},
		{`{"id":"x",`, "the request body is not valid JSON: it ends before the value is complete"},
		{`{"id": "x" "name": "X"}`, "the request body is not valid JSON: invalid character '\"' after object key:value pair (at byte 12)"},
	}
	for _, c := range cases {
		rec := ms.send(http.MethodPost, "/api/v1/kpis", c.body)
		wantStatus(t, c.body, rec, http.StatusBadRequest)
		if code, msg := apiError(t, rec); code != kpi.EINVALID || msg != c.want {
			t.Errorf("POST %s: error %s %q, want invalid %q", c.body, code, msg, c.want)
		}
	}
}

func TestUIKPITargetHistorySaysMadeInUI(t *testing.T) {
	ms := newMetaServer(t)
	wantStatus(t, "POST /api/v1/kpis", ms.send(http.MethodPost, "/api/v1/kpis", signupsKPI), http.StatusCreated)

	rec := ms.send(http.MethodGet, "/kpis/pro_revenue", "")
	wantStatus(t, "GET /kpis/pro_revenue", rec, http.StatusOK)
	page := rec.Body.String()
	if !strings.Contains(page, "set when the KPI was made in the UI") {
		t.Error("the target history of a UI KPI does not say its first target was set when the KPI was made in the UI")
	}
	if strings.Contains(page, "set in the KPI file") {
		t.Error("the target history of a UI KPI says its target was set in the KPI file")
	}

	rec = ms.send(http.MethodGet, "/kpis/orders", "")
	wantStatus(t, "GET /kpis/orders", rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), "set in the KPI file") {
		t.Error("the target history of a file KPI does not say its target was set in the KPI file")
	}
}

func TestKPIFormRejectsLongName(t *testing.T) {
	ms := newMetaServer(t)

	values := url.Values{
		"id": {"long_name"}, "name": {strings.Repeat("n", 600)}, "direction": {"up"}, "grain": {"month"},
		"metric_kind": {"count"}, "metric_event": {"order"},
	}
	rec := ms.postForm("/kpis/new", values)
	wantStatus(t, "POST /kpis/new with a 600-character name", rec, http.StatusBadRequest)
	if want := `id="name-error">is 600 characters long; the limit is 100 (shorten it)`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("form page lacks %s", want)
	}
}

func TestUIKPISeries(t *testing.T) {
	ms := newMetaServer(t)

	wantStatus(t, "create pro_revenue", ms.send(http.MethodPost, "/api/v1/kpis", signupsKPI), http.StatusCreated)
	wantStatus(t, "create buyers", ms.send(http.MethodPost, "/api/v1/kpis",
		`{"id": "buyers", "name": "Customers who ordered", "metric": {"kind": "unique_users", "event": "order"}}`), http.StatusCreated)
	wantStatus(t, "create per_buyer", ms.send(http.MethodPost, "/api/v1/kpis",
		`{"id": "per_buyer", "name": "Pro revenue per customer", "metric": {"kind": "formula", "formula": "pro_revenue / buyers"}}`), http.StatusCreated)

	// February: u3 7 pro. March: u1 10 pro + u1 5 free + u2 20 pro.
	want := map[string][2]float64{
		"pro_revenue": {7, 10 + 20},
		"buyers":      {1, 2},
		"per_buyer":   {7.0 / 1, 30.0 / 2},
	}
	for id, values := range want {
		rec := ms.send(http.MethodGet, "/api/v1/kpis/"+id+"/series?grain=month&from=2026-02-01&to=2026-03-31", "")
		wantStatus(t, id+" series", rec, http.StatusOK)
		var s struct {
			Path   string `json:"path"`
			Points []struct {
				Value *float64 `json:"value"`
			} `json:"points"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Points) != 2 || s.Points[0].Value == nil || s.Points[1].Value == nil {
			t.Errorf("%s: points = %s", id, rec.Body)
			continue
		}
		if *s.Points[0].Value != values[0] || *s.Points[1].Value != values[1] {
			t.Errorf("%s: February %v, March %v; want %v, %v", id, *s.Points[0].Value, *s.Points[1].Value, values[0], values[1])
		}
		if id == "pro_revenue" && s.Path != engine.PathSQL {
			t.Errorf("pro_revenue computed by %q, want %q: the index does not keep amount or plan", s.Path, engine.PathSQL)
		}
		if id == "buyers" && s.Path != engine.PathIndex {
			t.Errorf("buyers computed by %q, want %q", s.Path, engine.PathIndex)
		}
	}

	// A formula's input cannot go while the formula uses it.
	rec := ms.send(http.MethodDelete, "/api/v1/kpis/buyers", "")
	wantStatus(t, "DELETE buyers", rec, http.StatusConflict)
	if _, msg := apiError(t, rec); !strings.Contains(msg, "per_buyer") {
		t.Errorf("DELETE buyers: %q, want it to name per_buyer", msg)
	}

	// A new server over the same database serves the stored KPIs.
	restarted := newMetaServerOn(ms.db, ms.defs, engine.New(ms.db, func() time.Time { return testNow }))
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/kpis/per_buyer", nil)
	req.Header.Set("Authorization", "Bearer "+ms.token)
	restarted.ServeHTTP(rec, req)
	wantStatus(t, "per_buyer after a restart", rec, http.StatusOK)
}

func TestAnnotationsAPI(t *testing.T) {
	ms := newMetaServer(t)

	rec := ms.send(http.MethodPost, "/api/v1/annotations", `{"kpi_id": "orders", "kind": "release", "date": "2026-03-03", "note": "New checkout", "author": "ana"}`)
	wantStatus(t, "POST annotation", rec, http.StatusCreated)
	created := decodeJSON(t, rec)
	if created["kpi_id"] != "orders" || created["kind"] != "release" || created["date"] != "2026-03-03" || created["note"] != "New checkout" {
		t.Errorf("created = %v", created)
	}
	wantStatus(t, "POST all-KPI annotation", ms.send(http.MethodPost, "/api/v1/annotations",
		`{"kpi_id": null, "kind": "external", "date": "2026-02-14", "note": "Competitor launched"}`), http.StatusCreated)
	wantStatus(t, "POST old annotation", ms.send(http.MethodPost, "/api/v1/annotations",
		`{"kpi_id": "orders", "kind": "incident", "date": "2025-06-01", "note": "Outage"}`), http.StatusCreated)

	list := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/annotations?kpi=orders", ""))["annotations"].([]any)
	if len(list) != 3 {
		t.Fatalf("GET annotations?kpi=orders: %d, want 3", len(list))
	}
	if first := list[0].(map[string]any); first["note"] != "Outage" {
		t.Errorf("first annotation = %v, want the oldest", first)
	}
	if all := list[1].(map[string]any); all["kpi_id"] != nil {
		t.Errorf("all-KPI annotation kpi_id = %v, want null", all["kpi_id"])
	}

	// The series of February and March carries the two notes dated in it.
	rec = ms.send(http.MethodGet, "/api/v1/kpis/orders/series?grain=month&from=2026-02-01&to=2026-03-31", "")
	wantStatus(t, "series", rec, http.StatusOK)
	var series struct {
		Annotations []struct {
			KPIID *string `json:"kpi_id"`
			Kind  string  `json:"kind"`
			Date  string  `json:"date"`
			Note  string  `json:"note"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &series); err != nil {
		t.Fatal(err)
	}
	if len(series.Annotations) != 2 || series.Annotations[0].Note != "Competitor launched" || series.Annotations[1].Note != "New checkout" {
		t.Errorf("series annotations = %+v, want the February and March notes", series.Annotations)
	}

	id := int64(created["id"].(float64))
	wantStatus(t, "DELETE annotation", ms.send(http.MethodDelete, fmt.Sprintf("/api/v1/annotations/%d", id), ""), http.StatusNoContent)
	wantStatus(t, "DELETE again", ms.send(http.MethodDelete, fmt.Sprintf("/api/v1/annotations/%d", id), ""), http.StatusNotFound)
	wantStatus(t, "DELETE bad id", ms.send(http.MethodDelete, "/api/v1/annotations/abc", ""), http.StatusBadRequest)
	wantStatus(t, "GET for unknown KPI", ms.send(http.MethodGet, "/api/v1/annotations?kpi=nope", ""), http.StatusNotFound)
}

func TestAnnotationsBadInput(t *testing.T) {
	ms := newMetaServer(t)

	long := strings.Repeat("x", kpi.MaxAnnotationNote+1)
	cases := []struct {
		body, text string
	}{
		{`{"kpi_id": "orders", "kind": "launch", "date": "2026-03-01", "note": "x"}`, `kind: "launch" is not an annotation kind (want release, experiment, incident or external)`},
		{`{"kpi_id": "orders", "kind": "release", "date": "2026-13-01", "note": "x"}`, `date: "2026-13-01" is not a date (want YYYY-MM-DD)`},
		{`{"kpi_id": "orders", "kind": "release", "date": "03/01/2026", "note": "x"}`, `"03/01/2026" is not a date`},
		{`{"kpi_id": "orders", "kind": "release", "date": "1900-01-01", "note": "x"}`, "1900-01-01 is out of range"},
		{`{"kpi_id": "orders", "kind": "release", "note": "x"}`, "date: missing"},
		{`{"kpi_id": "orders", "kind": "release", "date": "2026-03-01", "note": "  "}`, "note: missing"},
		{`{"kpi_id": "orders", "kind": "release", "date": "2026-03-01", "note": "` + long + `"}`, "note: 501 characters is too long (want at most 500)"},
		{`{"kpi_id": "nope", "kind": "release", "date": "2026-03-01", "note": "x"}`, `kpi_id: KPI "nope" not found`},
		{`{"kpi_id": "orders", "kind": "release", "date": "2026-03-01", "note": "x", "colour": "red"}`, `unknown field "colour"`},
		{`{"kpi_id": 5, "kind": "release", "date": "2026-03-01", "note": "x"}`, "kpi_id: found a JSON number, expected a string"},
		{`{"kpi_id": "orders",`, "not valid JSON"},
		{``, "the request body is empty"},
	}
	for _, c := range cases {
		rec := ms.send(http.MethodPost, "/api/v1/annotations", c.body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%.60s: status %d, want 400; body %s", c.body, rec.Code, rec.Body)
			continue
		}
		if code, msg := apiError(t, rec); code != kpi.EINVALID || !strings.Contains(msg, c.text) {
			t.Errorf("%.60s: error %s %q, want %q", c.body, code, msg, c.text)
		}
	}

	list := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/annotations", ""))["annotations"].([]any)
	if len(list) != 0 {
		t.Errorf("%d annotations stored after bad requests, want 0", len(list))
	}
}

func TestFeedbackAPI(t *testing.T) {
	ms := newMetaServer(t)

	for _, text := range []string{"Checkout is confusing", "Love the new plans"} {
		body := fmt.Sprintf(`{"text": %q, "author": "ana", "source": "NPS survey"}`, text)
		wantStatus(t, "POST feedback", ms.send(http.MethodPost, "/api/v1/kpis/orders/feedback", body), http.StatusCreated)
	}
	list := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/kpis/orders/feedback", ""))["feedback"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["text"] != "Love the new plans" || list[0].(map[string]any)["source"] != "NPS survey" {
		t.Errorf("feedback = %v, want two entries, newest first", list)
	}

	rec := ms.send(http.MethodPost, "/api/v1/kpis/orders/feedback", `{"text": "   "}`)
	wantStatus(t, "empty feedback", rec, http.StatusBadRequest)
	if _, msg := apiError(t, rec); !strings.Contains(msg, "text: missing") {
		t.Errorf("empty feedback: %q", msg)
	}
	rec = ms.send(http.MethodPost, "/api/v1/kpis/orders/feedback", fmt.Sprintf(`{"text": %q}`, strings.Repeat("y", kpi.MaxFeedbackText+1)))
	wantStatus(t, "long feedback", rec, http.StatusBadRequest)
	wantStatus(t, "feedback on unknown KPI", ms.send(http.MethodPost, "/api/v1/kpis/nope/feedback", `{"text": "x"}`), http.StatusNotFound)
}

func TestKPIFormShowsFieldErrors(t *testing.T) {
	ms := newMetaServer(t)

	values := url.Values{
		"id": {"weekly_orders"}, "name": {"Weekly orders"}, "direction": {"up"}, "grain": {"week"},
		"metric_kind": {"count"}, "metric_event": {""}, "target_value": {"lots"}, "target_by": {"2026-12-31"},
	}
	rec := ms.postForm("/kpis/new", values)
	wantStatus(t, "POST /kpis/new with errors", rec, http.StatusBadRequest)
	page := rec.Body.String()
	for _, want := range []string{
		`id="metric_event-error">missing (name the event to compute count over)`,
		`id="target_value-error">&#34;lots&#34; is not a number`,
		`value="Weekly orders"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("form page lacks %s", want)
		}
	}

	values.Set("metric_event", "order")
	values.Set("target_value", "30")
	rec = ms.postForm("/kpis/new", values)
	wantStatus(t, "POST /kpis/new", rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != "/kpis/weekly_orders" {
		t.Errorf("redirect to %q", loc)
	}

	edit := ms.send(http.MethodGet, "/kpis/weekly_orders/edit", "")
	wantStatus(t, "GET edit page", edit, http.StatusOK)
	if !strings.Contains(edit.Body.String(), "Warning: missing: name the person or team accountable") {
		t.Error("the edit page does not show the missing owner warning")
	}

	values.Set("name", "Orders per week")
	wantStatus(t, "POST edit", ms.postForm("/kpis/weekly_orders/edit", values), http.StatusSeeOther)
	k := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/kpis/weekly_orders", ""))
	if k["name"] != "Orders per week" || k["grain"] != "week" {
		t.Errorf("after the edit form: %v", k)
	}

	rec = ms.postForm("/kpis/new", values)
	wantStatus(t, "POST /kpis/new with a taken id", rec, http.StatusConflict)
	if !strings.Contains(rec.Body.String(), `id="id-error">a KPI with id &#34;weekly_orders&#34; already exists`) {
		t.Errorf("taken id: the form does not say so next to the id:\n%s", rec.Body)
	}
}

func TestKPIPageAnnotationAndFeedbackForms(t *testing.T) {
	ms := newMetaServer(t)

	rec := ms.postForm("/kpis/orders/annotations", url.Values{"kind": {"incident"}, "date": {"2026-03-04"}, "note": {"Payment outage"}, "scope": {"kpi"}})
	wantStatus(t, "annotation form", rec, http.StatusSeeOther)
	rec = ms.postForm("/kpis/orders/annotations", url.Values{"kind": {"incident"}, "date": {"2026-02-30"}, "note": {"Bad date"}})
	wantStatus(t, "annotation form with a bad date", rec, http.StatusBadRequest)
	if !strings.Contains(rec.Body.String(), "date: &#34;2026-02-30&#34; is not a date (want YYYY-MM-DD)") {
		t.Error("the KPI page does not show the date error")
	}
	wantStatus(t, "feedback form", ms.postForm("/kpis/orders/feedback", url.Values{"text": {"Customers want invoices"}, "source": {"support"}}), http.StatusSeeOther)

	page := ms.send(http.MethodGet, "/kpis/orders?grain=month&from=2026-02-01&to=2026-03-31", "")
	wantStatus(t, "KPI page", page, http.StatusOK)
	html := page.Body.String()
	for _, want := range []string{"Payment outage", "Customers want invoices", "support", `"kind":"incident"`, `"label":"Mar 2026"`} {
		if !strings.Contains(html, want) {
			t.Errorf("KPI page lacks %s", want)
		}
	}
}

func TestKPIDeleteForm(t *testing.T) {
	ms := newMetaServer(t)
	wantStatus(t, "create", ms.send(http.MethodPost, "/api/v1/kpis", signupsKPI), http.StatusCreated)
	wantStatus(t, "annotate", ms.send(http.MethodPost, "/api/v1/annotations",
		`{"kpi_id": "pro_revenue", "kind": "experiment", "date": "2026-03-01", "note": "Price test"}`), http.StatusCreated)

	edit := ms.send(http.MethodGet, "/kpis/pro_revenue/edit", "")
	if !strings.Contains(edit.Body.String(), `action="/kpis/pro_revenue/delete"`) {
		t.Error("the edit page has no delete form")
	}
	rec := ms.postForm("/kpis/pro_revenue/delete", url.Values{})
	wantStatus(t, "delete form", rec, http.StatusSeeOther)
	wantStatus(t, "GET after delete", ms.send(http.MethodGet, "/api/v1/kpis/pro_revenue", ""), http.StatusNotFound)
	if list := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/annotations", ""))["annotations"].([]any); len(list) != 0 {
		t.Errorf("annotations after deleting their KPI = %v, want none", list)
	}
	wantStatus(t, "delete form on a file KPI", ms.postForm("/kpis/orders/delete", url.Values{}), http.StatusConflict)
}

// metaAuditRow is one audit_log row, read with plain SQL.
type metaAuditRow struct {
	action, objectType, objectID, actor string
	before, after                       string // "" for NULL
}

func metaAuditRows(t *testing.T, db *sqlite.DB, objectType string) []metaAuditRow {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), `
		SELECT action, object_type, object_id, actor, COALESCE(before_json, ''), COALESCE(after_json, '')
		FROM audit_log WHERE object_type = ? ORDER BY id`, objectType)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []metaAuditRow
	for rows.Next() {
		var r metaAuditRow
		if err := rows.Scan(&r.action, &r.objectType, &r.objectID, &r.actor, &r.before, &r.after); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestAnnotationAuthorAndAudit(t *testing.T) {
	ms := newMetaServer(t)

	rec := ms.send(http.MethodPost, "/api/v1/annotations", `{"kpi_id": "orders", "kind": "release", "date": "2026-03-03", "note": "New checkout", "author": "someone else"}`)
	wantStatus(t, "POST annotation", rec, http.StatusCreated)
	created := decodeJSON(t, rec)
	if created["author"] != "token:test-editor" {
		t.Errorf("author = %v, want the API token that made it", created["author"])
	}
	wantStatus(t, "DELETE annotation", ms.send(http.MethodDelete, fmt.Sprintf("/api/v1/annotations/%d", int64(created["id"].(float64))), ""), http.StatusNoContent)

	rows := metaAuditRows(t, ms.db, "annotation")
	if len(rows) != 2 || rows[0].action != "create" || rows[1].action != "delete" || !strings.Contains(rows[1].before, "New checkout") {
		t.Errorf("annotation audit rows = %+v", rows)
	}

	wantStatus(t, "POST feedback", ms.send(http.MethodPost, "/api/v1/kpis/orders/feedback", `{"text": "Slow checkout", "source": "support"}`), http.StatusCreated)
	list := decodeJSON(t, ms.send(http.MethodGet, "/api/v1/kpis/orders/feedback", ""))["feedback"].([]any)
	if author := list[0].(map[string]any)["author"]; author != "token:test-editor" {
		t.Errorf("feedback author = %v, want the API token when none is sent", author)
	}
}

func TestKPIMetaRoles(t *testing.T) {
	ms := newMetaServer(t)
	_, viewer, err := ms.auth.(*auth.Store).CreateToken(context.Background(), auth.DefaultWorkspaceID, "test-viewer", auth.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	asViewer := func(method, target, body string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+viewer)
		ms.ServeHTTP(rec, req)
		return rec.Code
	}

	for _, c := range []struct {
		method, target, body string
		want                 int
	}{
		{http.MethodGet, "/api/v1/annotations?kpi=orders", "", http.StatusOK},
		{http.MethodGet, "/api/v1/kpis/orders/feedback", "", http.StatusOK},
		{http.MethodGet, "/kpis/orders", "", http.StatusOK},
		{http.MethodPost, "/api/v1/annotations", `{"kpi_id": "orders", "kind": "release", "date": "2026-03-03", "note": "x"}`, http.StatusForbidden},
		{http.MethodPost, "/api/v1/kpis/orders/feedback", `{"text": "x"}`, http.StatusForbidden},
		{http.MethodPost, "/api/v1/kpis", signupsKPI, http.StatusForbidden},
		{http.MethodGet, "/kpis/new", "", http.StatusForbidden},
		{http.MethodDelete, "/api/v1/annotations/1", "", http.StatusForbidden},
	} {
		if got := asViewer(c.method, c.target, c.body); got != c.want {
			t.Errorf("viewer %s %s: status %d, want %d", c.method, c.target, got, c.want)
		}
	}
}

func TestKPIPageHidesFormsFromViewers(t *testing.T) {
	ms := newMetaServer(t)
	_, viewer, err := ms.auth.(*auth.Store).CreateToken(context.Background(), auth.DefaultWorkspaceID, "page-viewer", auth.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "annotate", ms.send(http.MethodPost, "/api/v1/annotations",
		`{"kpi_id": "orders", "kind": "release", "date": "2026-03-03", "note": "New checkout"}`), http.StatusCreated)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/kpis/orders?grain=month&from=2026-02-01&to=2026-03-31", nil)
	req.Header.Set("Authorization", "Bearer "+viewer)
	ms.ServeHTTP(rec, req)
	wantStatus(t, "viewer KPI page", rec, http.StatusOK)
	page := rec.Body.String()
	if !strings.Contains(page, "New checkout") {
		t.Error("the viewer does not see the annotation")
	}
	for _, hidden := range []string{"Add an annotation", "Add feedback", `href="/kpis/new"`, ">Delete</button>"} {
		if strings.Contains(page, hidden) {
			t.Errorf("the viewer's page shows %s", hidden)
		}
	}

	editorPage := ms.send(http.MethodGet, "/kpis/orders", "").Body.String()
	for _, shown := range []string{"Add an annotation", "Add feedback", `href="/kpis/new"`} {
		if !strings.Contains(editorPage, shown) {
			t.Errorf("the editor's page lacks %s", shown)
		}
	}
}
