package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// testAuth is a fresh SQLite account store for one test, with an admin API
// token for the default workspace.
type testAuth struct {
	db         *sqlite.DB
	store      *auth.Store
	adminToken string
}

// newTestAuth opens a migrated SQLite database in the test's directory and
// creates an admin API token in the default workspace.
func newTestAuth(t *testing.T) *testAuth {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	ta := &testAuth{db: db, store: auth.NewStore(db.SQL(), auth.SQLite, nil)}
	_, ta.adminToken = ta.token(t, auth.DefaultWorkspaceID, auth.RoleAdmin, "test-admin")
	return ta
}

// workspaceFactory returns a factory of workspace services on views of
// ta.db: a store of each workspace, and no KPIs and no series.
func (ta *testAuth) workspaceFactory() WorkspaceFactory {
	return func(_ context.Context, id int64) (WorkspaceServices, error) {
		view := ta.db.Workspace(id)
		now := func() time.Time { return testNow }
		none := func() *kpi.Definitions { return &kpi.Definitions{} }
		return WorkspaceServices{
			Definitions: none,
			Series:      &fakeSeries{series: map[string]*engine.Series{}, errs: map[string]error{}, panics: map[string]bool{}},
			Ingest:      view,
			KPIMeta:     view,
			Dashboards:  view,
			Targets:     view,
			Alerts:      &alerting.Rules{Store: view, Definitions: none, Now: now},
			Reports:     &alerting.Reports{Store: view, Definitions: none, Now: now},
		}, nil
	}
}

// token creates an API token and returns it with its secret.
func (ta *testAuth) token(t *testing.T, workspaceID int64, role auth.Role, name string) (auth.APIToken, string) {
	t.Helper()
	tok, secret, err := ta.store.CreateToken(context.Background(), workspaceID, name, role, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

// account creates an account with role in workspaceID and returns its
// password.
func (ta *testAuth) account(t *testing.T, email string, workspaceID int64, role auth.Role) string {
	t.Helper()
	password := "correct horse " + email
	if _, err := ta.store.CreateAccount(context.Background(), email, password, workspaceID, role, "test"); err != nil {
		t.Fatal(err)
	}
	return password
}

// signIn posts the sign-in form to srv and returns the session cookie and
// the session's CSRF token.
func (ta *testAuth) signIn(t *testing.T, srv http.Handler, email, password string) (*http.Cookie, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, formRequest(http.MethodPost, "/signin", "email", email, "password", password))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: status %d, want 303; body:\n%s", email, rec.Code, rec.Body)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("sign-in of %s set no %s cookie", email, sessionCookie)
	}
	sess, err := ta.store.SessionBySecret(context.Background(), cookie.Value)
	if err != nil {
		t.Fatal(err)
	}
	return cookie, sess.CSRFToken
}

// formRequest returns a request with an URL-encoded form body of the given
// name, value pairs.
func formRequest(method, target string, pairs ...string) *http.Request {
	form := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Add(pairs[i], pairs[i+1])
	}
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
