package web

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// accessFixture is a server with every route registered (ingestion
// included) on a real SQLite store, and one credential per caller kind.
type accessFixture struct {
	srv      *Server
	ta       *testAuth
	accounts map[string]auth.Account // by caller name, for the session callers
	tokens   map[string]string       // by caller name, for the token callers
	writeKey string
}

// The callers of the access table.
const (
	callerAnonymous    = "anonymous"
	callerViewer       = "viewer"
	callerEditor       = "editor"
	callerAdmin        = "admin"
	callerAdminToken   = "admin token"
	callerOtherMember  = "member of another workspace"
	callerRevokedToken = "revoked token"
	callerWriteKey     = "write key"
)

var callers = []string{callerAnonymous, callerViewer, callerEditor, callerAdmin, callerAdminToken,
	callerOtherMember, callerRevokedToken, callerWriteKey}

// ws1Marker appears in every account address of workspace 1; no response
// to a member of another workspace may contain it.
const ws1Marker = "@ws1.example.com"

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	ctx := context.Background()
	ta := newTestAuth(t)
	f := &accessFixture{ta: ta, accounts: map[string]auth.Account{}, tokens: map[string]string{}}

	other, err := ta.store.CreateWorkspace(ctx, "other", "test")
	if err != nil {
		t.Fatal(err)
	}
	for caller, member := range map[string]struct {
		ws   int64
		role auth.Role
	}{
		callerViewer:      {1, auth.RoleViewer},
		callerEditor:      {1, auth.RoleEditor},
		callerAdmin:       {1, auth.RoleAdmin},
		callerOtherMember: {other.ID, auth.RoleAdmin},
	} {
		email := strings.ReplaceAll(caller, " ", "-") + ws1Marker
		if member.ws != 1 {
			email = "admin@other.example.com"
		}
		ta.account(t, email, member.ws, member.role)
		acc, err := ta.store.AccountByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		f.accounts[caller] = acc
	}
	// The account that the member routes add, change and remove.
	ta.account(t, "target@example.net", 1, auth.RoleViewer)

	f.tokens[callerAdminToken] = ta.adminToken
	_, f.tokens[callerRevokedToken] = ta.token(t, 1, auth.RoleAdmin, "revoked")
	if err := ta.store.RevokeToken(ctx, 1, "revoked", "test"); err != nil {
		t.Fatal(err)
	}
	if _, f.writeKey, err = ta.db.CreateWriteKey(ctx, "web"); err != nil {
		t.Fatal(err)
	}

	f.srv = NewServer(Config{
		Definitions: func() *kpi.Definitions { return testDefinitions() },
		Series:      &fakeSeries{series: testSeries(), errs: map[string]error{}, panics: map[string]bool{}},
		Logger:      slog.New(slog.DiscardHandler),
		Now:         func() time.Time { return testNow },
		Ingest:      ta.db,
		Auth:        ta.store,
		KPIMeta:     ta.db,
		Dashboards:  ta.db,
		Targets:     ta.db,
		Alerts:      &alerting.Rules{Store: ta.db, Definitions: testDefinitions, Now: func() time.Time { return testNow }},
		Reports:     &alerting.Reports{Store: ta.db, Definitions: testDefinitions, Now: func() time.Time { return testNow }},
		Workspaces:  ta.workspaceFactory(),
	})
	return f
}

// request returns a request for pattern with its wildcards filled in, made
// by caller. A session caller gets a new session for each request, so that
// signing out in one row does not affect the next.
func (f *accessFixture) request(t *testing.T, pattern, caller string) *http.Request {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	path = strings.ReplaceAll(path, "{id}", "revenue")
	path = strings.ReplaceAll(path, "{email}", "target@example.net")
	path = strings.ReplaceAll(path, "{token}", "not-a-share-token")
	path = strings.ReplaceAll(path, "{name}", "no-such-token")
	for _, wildcard := range []string{"{widget}", "{link}", "{aid}"} {
		path = strings.ReplaceAll(path, wildcard, "1")
	}
	if strings.HasSuffix(path, "/assets/") {
		path += "app.js"
	}

	var body io.Reader
	if method != http.MethodGet && method != http.MethodHead {
		body = strings.NewReader(`{"role": "viewer"}`)
	}
	req := httptest.NewRequest(method, path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !isAPIPath(path) {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8") // as browsers send
	}

	switch caller {
	case callerViewer, callerEditor, callerAdmin, callerOtherMember:
		sess, secret, err := f.ta.store.CreateSession(context.Background(), f.accounts[caller], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
		req.Header.Set(csrfHeader, sess.CSRFToken)
	case callerAdminToken, callerRevokedToken:
		req.Header.Set("Authorization", "Bearer "+f.tokens[caller])
	case callerWriteKey:
		req.Header.Set("Authorization", "Bearer "+f.writeKey)
	}
	return req
}

// allowed reports whether caller may call a route with rule need.
func allowed(need Access, caller string) bool {
	switch need {
	case AccessWriteKey:
		return caller == callerWriteKey
	case AccessSession:
		return caller == callerViewer || caller == callerEditor || caller == callerAdmin || caller == callerOtherMember
	case AccessSignedIn, AccessViewer:
		return caller == callerViewer || caller == callerEditor || caller == callerAdmin || caller == callerAdminToken || caller == callerOtherMember
	case AccessEditor:
		return caller == callerEditor || caller == callerAdmin || caller == callerAdminToken || caller == callerOtherMember
	case AccessAdmin:
		return caller == callerAdmin || caller == callerAdminToken || caller == callerOtherMember
	case AccessServerAdmin:
		return caller == callerAdmin || caller == callerAdminToken
	}
	return false
}

// TestRouteAccess calls every registered route as every kind of caller and
// checks the status that its access rule implies. The routes come from the
// server's registry, so a route added without a rule fails here.
func TestRouteAccess(t *testing.T) {
	f := newAccessFixture(t)
	routes := f.srv.Routes()
	if len(routes) < 20 {
		t.Fatalf("the registry lists %d routes; want every route of the server", len(routes))
	}

	for _, route := range routes {
		t.Run(route.Pattern, func(t *testing.T) {
			switch route.Access {
			case AccessPublic, AccessWriteKey, AccessShareToken, AccessSignedIn, AccessSession, AccessViewer, AccessEditor, AccessAdmin, AccessServerAdmin:
			default:
				t.Fatalf("route %s has no access rule (%q); register it with Server.register", route.Pattern, route.Access)
			}
			method, path, _ := strings.Cut(route.Pattern, " ")
			page := !isAPIPath(path) && route.Access != AccessWriteKey

			statuses := map[string]int{}
			for _, caller := range callers {
				rec := httptest.NewRecorder()
				f.srv.ServeHTTP(rec, f.request(t, route.Pattern, caller))
				statuses[caller] = rec.Code
				body := rec.Body.String()

				switch {
				case route.Access == AccessPublic:
					// Checked below: credentials make no difference.
				case route.Access == AccessShareToken:
					// The handler checks the token in the path, which is
					// not a share token here, whoever sends it.
					if rec.Code != http.StatusNotFound {
						t.Errorf("%s: status %d with an unknown share token, want 404; body:\n%s", caller, rec.Code, body)
					}
				case allowed(route.Access, caller):
					if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden ||
						strings.HasPrefix(rec.Header().Get("Location"), "/signin?") {
						t.Errorf("%s: status %d (Location %q), want access; body:\n%s", caller, rec.Code, rec.Header().Get("Location"), body)
					}
					if caller == callerOtherMember && (strings.Contains(body, ws1Marker) || strings.Contains(body, "Revenue")) {
						t.Errorf("%s: the response shows data of workspace 1:\n%s", caller, body)
					}
				case route.Access == AccessWriteKey:
					// The ingestion handler finds no write key in sessions
					// and API tokens. A body it cannot decode is rejected
					// first, with 400, before it looks for a key in the body.
					if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
						t.Errorf("%s: status %d, want 401 or 400; body:\n%s", caller, rec.Code, body)
					}
				case caller == callerAnonymous || caller == callerRevokedToken:
					if page && method == http.MethodGet {
						if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin?next=") {
							t.Errorf("%s: status %d to %q, want 303 to the sign-in page", caller, rec.Code, rec.Header().Get("Location"))
						}
					} else if rec.Code != http.StatusUnauthorized {
						t.Errorf("%s: status %d, want 401; body:\n%s", caller, rec.Code, body)
					}
				default: // a role too low, or a write key
					if rec.Code != http.StatusForbidden {
						t.Errorf("%s: status %d, want 403; body:\n%s", caller, rec.Code, body)
					}
				}
			}

			if route.Access == AccessPublic {
				for _, caller := range callers {
					if statuses[caller] != statuses[callerAnonymous] || statuses[caller] == http.StatusForbidden {
						t.Errorf("public route: %s got %d, anonymous %d; want the same, not 403", caller, statuses[caller], statuses[callerAnonymous])
					}
				}
			}
		})
	}
}

func TestRouteWithoutRuleClosed(t *testing.T) {
	f := newAccessFixture(t)
	f.srv.mux.Handle("GET /api/v1/forgotten", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))

	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, f.request(t, "GET /api/v1/forgotten", callerAdmin))
	if rec.Code != http.StatusForbidden {
		t.Errorf("route without a rule: status %d for an admin, want 403", rec.Code)
	}
	found := false
	for _, r := range f.srv.Routes() {
		if r.Pattern == "GET /api/v1/forgotten" {
			found = r.Access == accessUnset
		}
	}
	if !found {
		t.Error("the registry does not list the route without a rule as unset, so the access test would miss it")
	}
}

func TestMetricsWithoutCredentials(t *testing.T) {
	f := newAccessFixture(t)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("GET /metrics without credentials, as Prometheus sends it: status %d, WWW-Authenticate %q; want 401 with a challenge",
			rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestWriteKeyRejectedMessage(t *testing.T) {
	f := newAccessFixture(t)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, f.request(t, "GET /api/v1/kpis", callerWriteKey))
	_, message := apiError(t, rec)
	if rec.Code != http.StatusForbidden || !strings.Contains(message, "write key can only send events") {
		t.Errorf("write key on the API: %d %q, want 403 saying write keys only send events", rec.Code, message)
	}
}

// TestCSRF checks that a session cookie without the session's CSRF token
// changes nothing, and that an API token needs none.
func TestCSRF(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	sess, secret, err := f.ta.store.CreateSession(ctx, f.accounts[callerAdmin], time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.ta.store.CreateSession(ctx, f.accounts[callerEditor], time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	put := func(csrf, formToken, bearer string) int {
		var req *http.Request
		if formToken != "" {
			req = formRequest(http.MethodPost, "/signout", "csrf_token", formToken)
		} else {
			req = httptest.NewRequest(http.MethodPut, "/api/v1/members/target@example.net", strings.NewReader(`{"role": "admin"}`))
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		} else {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
		}
		if csrf != "" {
			req.Header.Set(csrfHeader, csrf)
		}
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec.Code
	}
	targetRole := func() auth.Role {
		members, err := f.ta.store.Members(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if m.Email == "target@example.net" {
				return m.Role
			}
		}
		return ""
	}

	if code := put("", "", ""); code != http.StatusForbidden {
		t.Errorf("session without CSRF token: status %d, want 403", code)
	}
	if code := put(other.CSRFToken, "", ""); code != http.StatusForbidden {
		t.Errorf("session with another session's CSRF token: status %d, want 403", code)
	}
	if got := targetRole(); got != auth.RoleViewer {
		t.Fatalf("after rejected requests the member's role is %q, want it unchanged (viewer)", got)
	}

	if code := put(sess.CSRFToken, "", ""); code != http.StatusOK {
		t.Errorf("session with its CSRF token: status %d, want 200", code)
	}
	if got := targetRole(); got != auth.RoleAdmin {
		t.Errorf("after the accepted request the member's role is %q, want admin", got)
	}
	if code := put("", "", f.ta.adminToken); code != http.StatusOK {
		t.Errorf("API token without CSRF token: status %d, want 200", code)
	}

	// Forms send the token in the csrf_token field.
	if code := put("", "wrong", ""); code != http.StatusForbidden {
		t.Errorf("sign-out form with a wrong token: status %d, want 403", code)
	}
	if code := put("", sess.CSRFToken, ""); code != http.StatusSeeOther {
		t.Errorf("sign-out form with the token: status %d, want 303", code)
	}
	if _, err := f.ta.store.SessionBySecret(ctx, secret); kpi.ErrorCode(err) != kpi.EUNAUTHORIZED {
		t.Errorf("after signing out the session still works: %v", err)
	}
}

// TestScriptNameEscapedOnEveryPage renders every page registered for GET
// with a KPI name, owner and audit entry that contain markup, and checks
// that none of it reaches the page unescaped.
func TestScriptNameEscapedOnEveryPage(t *testing.T) {
	const markup = `<script>alert("x")</script>`
	defs := testDefinitions()
	for _, k := range defs.KPIs {
		k.Name = markup + k.ID
		k.Description = markup
		k.Owner = markup
	}
	defs.Objectives[0].Name = markup
	defs.Workspace.Name = markup
	ts := newTestServer(t, defs)
	password := ts.auth.account(t, "admin"+ws1Marker, 1, auth.RoleAdmin)
	cookie, _ := ts.auth.signIn(t, ts, "admin"+ws1Marker, password)
	err := ts.auth.store.Record(context.Background(), auth.AuditEntry{WorkspaceID: 1, Actor: markup, Action: "update",
		ObjectType: "kpi", ObjectID: markup, Before: map[string]string{"name": markup}, After: map[string]string{"name": markup}})
	if err != nil {
		t.Fatal(err)
	}

	pages := 0
	for _, route := range ts.Routes() {
		method, path, _ := strings.Cut(route.Pattern, " ")
		if method != http.MethodGet || isAPIPath(path) || strings.HasPrefix(path, "/assets/") || route.Access == AccessWriteKey {
			continue
		}
		path = strings.ReplaceAll(strings.TrimSuffix(path, "{$}"), "{id}", "revenue")
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, req)
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			continue
		}
		pages++
		body := rec.Body.String()
		if strings.Contains(body, "<script>alert") {
			t.Errorf("GET %s shows the markup unescaped", path)
		}
		if (path == "/" || path == "/kpis/revenue" || path == "/admin/audit") && !strings.Contains(body, "&lt;script&gt;alert") {
			t.Errorf("GET %s (status %d) does not show the escaped markup", path, rec.Code)
		}
	}
	if pages < 5 {
		t.Errorf("checked %d pages, want at least the dashboard, KPI, sign-in, account and audit pages", pages)
	}
}

func TestSignInWrongPasswordSameAsUnknownEmail(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	ts.auth.account(t, "ada@example.com", 1, auth.RoleViewer)

	bodies := map[string]string{}
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, formRequest(http.MethodPost, "/signin", "email", email, "password", "wrong password 123"))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("sign-in as %s with a wrong password: status %d, want 401", email, rec.Code)
		}
		if len(rec.Result().Cookies()) > 0 {
			t.Errorf("a failed sign-in as %s set a cookie", email)
		}
		bodies[email] = strings.ReplaceAll(rec.Body.String(), email, "EMAIL")
	}
	if bodies["ada@example.com"] != bodies["nobody@example.com"] {
		t.Error("a wrong password and an unknown e-mail address give different pages")
	}
	if !strings.Contains(bodies["ada@example.com"], "Wrong e-mail address or password.") {
		t.Errorf("the page does not say \"Wrong e-mail address or password.\":\n%s", bodies["ada@example.com"])
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	password := ts.auth.account(t, "ada@example.com", 1, auth.RoleViewer)
	cookie, _ := ts.auth.signIn(t, ts, "ada@example.com", password)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Errorf("cookie over plain HTTP: HttpOnly %v SameSite %v Secure %v, want true, Lax, false", cookie.HttpOnly, cookie.SameSite, cookie.Secure)
	}
	if strings.Contains(cookie.Value, password) || !strings.HasPrefix(cookie.Value, "ns_se_") {
		t.Errorf("cookie value %q is not a session secret", cookie.Value)
	}

	// Over TLS the cookie is Secure.
	req := formRequest(http.MethodPost, "/signin", "email", "ada@example.com", "password", password)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	ts.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].Secure {
		t.Errorf("cookie over TLS: %v, want one Secure cookie", cookies)
	}

	// The session signs in the dashboard and ends with its expiry.
	get := func(c *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(cookie); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"role": "viewer"`) {
		t.Errorf("GET /api/v1/me with the session: %d %s", rec.Code, rec.Body)
	}
}

func TestRedirectAfterSignInStaysLocal(t *testing.T) {
	for next, want := range map[string]string{
		"/kpis/revenue?grain=week": "/kpis/revenue?grain=week",
		"https://127.0.0.1/":       "/",
		"//127.0.0.1/x":            "/",
		"/\\127.0.0.1":             "/",
		"":                         "/",
	} {
		ts := newTestServer(t, testDefinitions())
		password := ts.auth.account(t, "ada@example.com", 1, auth.RoleViewer)
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, formRequest(http.MethodPost, "/signin", "email", "ada@example.com", "password", password, "next", next))
		if got := rec.Header().Get("Location"); got != want {
			t.Errorf("next %q: redirect to %q, want %q", next, got, want)
		}
	}
}

// TestIngestStoresInKeyWorkspace checks that events sent with a write key
// of another workspace are stored in that workspace and in no other.
func TestIngestStoresInKeyWorkspace(t *testing.T) {
	f := newAccessFixture(t)
	secret, prefix, hash, err := store.NewWriteKeySecret()
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ta.db.SQL().Exec(`INSERT INTO write_keys (workspace_id, name, prefix, secret_hash, created_at) VALUES (2, 'other-web', ?, ?, 0)`, prefix, hash)
	if err != nil {
		t.Fatal(err)
	}

	req := httptest.NewRequest(http.MethodPost, "/v1/track",
		strings.NewReader(`{"event": "signup", "userId": "u1", "messageId": "m1", "timestamp": "2026-03-09T10:00:00Z"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(secret, "")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("write key of workspace 2: status %d, want 200; body:\n%s", rec.Code, rec.Body)
	}

	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM events WHERE workspace_id = 2 AND source = 'other-web'`, 1},
		{`SELECT count(*) FROM events WHERE workspace_id <> 2`, 0},
		{`SELECT count(*) FROM users WHERE workspace_id = 2 AND distinct_id = 'u1'`, 1},
		{`SELECT count(*) FROM users WHERE workspace_id <> 2`, 0},
	} {
		var n int
		if err := f.ta.db.SQL().QueryRow(c.query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
}

// TestBadInputChangesNothing sends an expired session and a role that does
// not exist, and checks the responses and that the member is unchanged.
func TestBadInputChangesNothing(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	expired, secret, err := f.ta.store.CreateSession(ctx, f.accounts[callerAdmin], -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	send := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	putRole := func(role string) *http.Request {
		req := httptest.NewRequest(http.MethodPut, "/api/v1/members/target@example.net", strings.NewReader(`{"role": "`+role+`"}`))
		req.Header.Set("Content-Type", "application/json")
		return req
	}

	// An expired session: 401 from the API, the sign-in page for pages.
	req := putRole("admin")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
	req.Header.Set(csrfHeader, expired.CSRFToken)
	rec := send(req)
	if _, message := apiError(t, rec); rec.Code != http.StatusUnauthorized || !strings.Contains(message, "expired") {
		t.Errorf("expired session: %d %q, want 401 saying the session expired", rec.Code, message)
	}
	req = httptest.NewRequest(http.MethodGet, "/kpis/revenue", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
	rec = send(req)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin?next=") {
		t.Errorf("expired session on a page: %d to %q, want 303 to the sign-in page", rec.Code, rec.Header().Get("Location"))
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("expired session on a page: cookies %v, want the session cookie deleted", c)
	}

	// A role that does not exist.
	req = putRole("owner")
	req.Header.Set("Authorization", "Bearer "+f.ta.adminToken)
	rec = send(req)
	if _, message := apiError(t, rec); rec.Code != http.StatusBadRequest || !strings.Contains(message, `role "owner" does not exist`) {
		t.Errorf("unknown role: %d %q, want 400 naming the role", rec.Code, message)
	}

	// An unknown account.
	req = httptest.NewRequest(http.MethodPut, "/api/v1/members/"+strings.Repeat("x", 300)+"@example.net", strings.NewReader(`{"role": "viewer"}`))
	req.Header.Set("Authorization", "Bearer "+f.ta.adminToken)
	if rec = send(req); rec.Code != http.StatusNotFound {
		t.Errorf("unknown account: status %d, want 404", rec.Code)
	}

	members, err := f.ta.store.Members(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Email == "target@example.net" && m.Role != auth.RoleViewer {
			t.Errorf("after rejected requests the member is %s, want viewer", m.Role)
		}
	}
	entries, err := f.ta.store.AuditLog(ctx, 1, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ObjectID == "target@example.net" && e.Action != "create" {
			t.Errorf("audit entry %+v after rejected requests", e)
		}
	}
}

func TestSignInRateLimited(t *testing.T) {
	ts := newTestServer(t, testDefinitions())
	password := ts.auth.account(t, "ada@example.com", 1, auth.RoleViewer)
	post := func(email, password, addr string) *httptest.ResponseRecorder {
		req := formRequest(http.MethodPost, "/signin", "email", email, "password", password)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		ts.ServeHTTP(rec, req)
		return rec
	}

	for i := range maxFailuresPerAccount {
		if rec := post("ada@example.com", "wrong password", "192.0.2.1:1000"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, rec.Code)
		}
	}
	// The account is blocked now, even with the right password and from
	// another address.
	rec := post("ada@example.com", password, "192.0.2.2:1000")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("sign-in after %d failures: status %d, Retry-After %q; want 429 with Retry-After",
			maxFailuresPerAccount, rec.Code, rec.Header().Get("Retry-After"))
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("a blocked sign-in set a cookie")
	}

	// Other accounts from another address still sign in.
	other := ts.auth.account(t, "bob@example.com", 1, auth.RoleViewer)
	if rec := post("bob@example.com", other, "192.0.2.3:1000"); rec.Code != http.StatusSeeOther {
		t.Errorf("another account: status %d, want 303", rec.Code)
	}

	// One client address is blocked after maxFailuresPerAddress failures,
	// whatever the account.
	for i := range maxFailuresPerAddress {
		post("nobody"+strconv.Itoa(i)+"@example.com", "wrong password", "192.0.2.9:1000")
	}
	if rec := post("bob@example.com", other, "192.0.2.9:2000"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("sign-in from an address after %d failures: status %d, want 429", maxFailuresPerAddress, rec.Code)
	}
}

func TestSignInLimiterWindow(t *testing.T) {
	l := newSignInLimiter()
	start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for i := range maxFailuresPerAccount {
		l.fail("ada@example.com", "192.0.2.1", start.Add(time.Duration(i)*time.Minute))
	}
	// The oldest failure leaves the 15-minute window at 12:15.
	if wait := l.blocked("ada@example.com", "192.0.2.2", start.Add(10*time.Minute)); wait != 5*time.Minute {
		t.Errorf("at 12:10 the wait is %v, want 5m0s", wait)
	}
	if wait := l.blocked("ada@example.com", "192.0.2.2", start.Add(15*time.Minute)); wait != 0 {
		t.Errorf("at 12:15 the wait is %v, want 0", wait)
	}
}

// TestShareLinkShowsFeedbackWithoutCredentials checks that a share link's
// feedback widget reads the feedback, although its request has no session
// or token.
func TestShareLinkShowsFeedbackWithoutCredentials(t *testing.T) {
	f := newAccessFixture(t)
	ts := &testServer{Server: f.srv, auth: f.ta, token: f.ta.adminToken}
	id := dashboardWithWidgets(t, ts, "Shared", `{"kind": "feedback", "kpis": ["signups"]}`)
	ts.mustSend(t, "POST", "/api/v1/kpis/signups/feedback", `{"text": "Sign-up form is too long", "author": "Ana", "source": "survey"}`, http.StatusCreated, nil)
	var link struct {
		URL string `json:"url"`
	}
	ts.mustSend(t, "POST", "/api/v1/dashboards/"+strconv.FormatInt(id, 10)+"/share-links", "", http.StatusCreated, &link)

	ts.token = ""
	rec := ts.get(link.URL + "/data")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Sign-up form is too long") {
		t.Errorf("anonymous GET %s/data: status %d, want 200 with the feedback:\n%s", link.URL, rec.Code, rec.Body)
	}
	if rec := ts.get("/api/v1/kpis/signups/feedback"); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous GET of the feedback API: status %d, want 401", rec.Code)
	}
}

// TestSwitchWorkspace moves a session between the two workspaces of its
// account and checks the role that follows, and that a workspace the
// account is not a member of is rejected.
func TestSwitchWorkspace(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()
	if _, err := f.ta.store.SetMember(ctx, 2, "viewer"+ws1Marker, auth.RoleAdmin, "test"); err != nil {
		t.Fatal(err)
	}
	sess, secret, err := f.ta.store.CreateSession(ctx, f.accounts[callerViewer], time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(req *http.Request) *httptest.ResponseRecorder {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		return rec
	}
	me := func() string { return serve(httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)).Body.String() }
	switchTo := func(workspace string) int {
		return serve(formRequest(http.MethodPost, "/account/workspace", "workspace", workspace, "csrf_token", sess.CSRFToken)).Code
	}

	if got := me(); !strings.Contains(got, `"workspace_id": 1`) || !strings.Contains(got, `"role": "viewer"`) {
		t.Fatalf("before switching: %s, want viewer in workspace 1", got)
	}
	page := serve(httptest.NewRequest(http.MethodGet, "/account", nil)).Body.String()
	if !strings.Contains(page, `<option value="2">other (admin)</option>`) {
		t.Errorf("the account page offers no switch to workspace 2:\n%s", page)
	}

	if code := switchTo("2"); code != http.StatusSeeOther {
		t.Errorf("switch to workspace 2: status %d, want 303", code)
	}
	if got := me(); !strings.Contains(got, `"workspace_id": 2`) || !strings.Contains(got, `"role": "admin"`) {
		t.Errorf("after switching: %s, want admin in workspace 2", got)
	}
	if code := switchTo("99"); code != http.StatusForbidden {
		t.Errorf("switch to a workspace without membership: status %d, want 403", code)
	}
	if code := switchTo("one"); code != http.StatusBadRequest {
		t.Errorf("switch to workspace \"one\": status %d, want 400", code)
	}
	if got := me(); !strings.Contains(got, `"workspace_id": 2`) {
		t.Errorf("after rejected switches: %s, want workspace 2 unchanged", got)
	}
}
