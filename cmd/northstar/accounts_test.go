package main

import (
	"bytes"
	"context"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
)

// testTokens maps the base URL of each server a test started to an admin
// API token of its default workspace, for authGet.
var testTokens sync.Map

// registerAdminToken creates an admin API token on m's database and makes
// authGet send it to m.
func registerAdminToken(t *testing.T, m *Main) string {
	t.Helper()
	_, secret, err := m.Auth().CreateToken(context.Background(), auth.DefaultWorkspaceID, "test-admin", auth.RoleAdmin, "test")
	if err != nil {
		t.Fatal(err)
	}
	base := m.URL()
	testTokens.Store(base, secret)
	t.Cleanup(func() { testTokens.Delete(base) })
	return secret
}

// authGet requests url with the admin token of the test server it names.
func authGet(url string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	testTokens.Range(func(base, token any) bool {
		if strings.HasPrefix(url, base.(string)+"/") {
			req.Header.Set("Authorization", "Bearer "+token.(string))
			return false
		}
		return true
	})
	return http.DefaultClient.Do(req)
}

// runWithStdin runs the command line args with stdin as standard input and
// returns the exit code and the output.
func runWithStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g := &globals{stdout: &stdout, stderr: &stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if err := root.ExecuteContext(context.Background()); err != nil {
		return exitFailure, stdout.String(), err.Error()
	}
	return exitOK, stdout.String(), stderr.String()
}

func TestUsersAndTokensFirstRun(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "northstar.db")
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(serveTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runWithStdin(t, "correct horse battery\n", "users", "create", "--email", "Ada@Example.com", "--role", "admin", "--password-stdin", "--db", dbPath)
	if code != exitOK || !strings.Contains(out, "Created account ada@example.com, admin in workspace 1") {
		t.Fatalf("users create: exit %d, stdout %q, error %q", code, out, errOut)
	}
	if code, _, errOut := runWithStdin(t, "correct horse battery\n", "users", "create", "--email", "ada@example.com", "--role", "viewer", "--password-stdin", "--db", dbPath); code == exitOK || !strings.Contains(errOut, "already exists") {
		t.Errorf("second account with the address: exit %d, error %q; want it rejected as existing", code, errOut)
	}
	if code, _, errOut := runWithStdin(t, "correct horse battery\n", "users", "create", "--email", "bob@example.com", "--role", "owner", "--password-stdin", "--db", dbPath); code == exitOK || !strings.Contains(errOut, `role "owner" does not exist`) {
		t.Errorf("unknown role: exit %d, error %q", code, errOut)
	}
	if code, _, errOut := runWithStdin(t, "short\n", "users", "create", "--email", "bob@example.com", "--role", "viewer", "--password-stdin", "--db", dbPath); code == exitOK || !strings.Contains(errOut, "at least 12") {
		t.Errorf("short password: exit %d, error %q", code, errOut)
	}

	code, out, errOut = runWithStdin(t, "", "tokens", "create", "--name", "reports", "--role", "viewer", "--db", dbPath)
	token := regexp.MustCompile(`ns_at_[a-z2-7]{52}`).FindString(out)
	if code != exitOK || token == "" {
		t.Fatalf("tokens create: exit %d, stdout %q, error %q", code, out, errOut)
	}
	if code, _, errOut := runWithStdin(t, "", "keys", "create", "--name", "web", "--db", dbPath); code != exitOK {
		t.Fatalf("keys create: %s", errOut)
	}

	m := &Main{Addr: "127.0.0.1:0", DBPath: dbPath, KPIPath: kpiPath, Now: func() time.Time { return serveTestNow }}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/api/v1/kpis", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := get(); status != http.StatusOK {
		t.Errorf("GET /api/v1/kpis with the token: status %d, want 200", status)
	}

	// The account signs in with its password.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(m.URL()+"/signin", neturl.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Errorf("sign-in: status %d with %d cookies, want 303 with the session cookie", resp.StatusCode, len(resp.Cookies()))
	}

	// Revoking the token on the command line rejects it on the running server.
	if code, _, errOut := runWithStdin(t, "", "tokens", "revoke", "--name", "reports", "--db", dbPath); code != exitOK {
		t.Fatalf("tokens revoke: %s", errOut)
	}
	if status := get(); status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/kpis with the revoked token: status %d, want 401", status)
	}

	// Every change above is in the audit log.
	entries, err := m.Auth().AuditLog(context.Background(), auth.DefaultWorkspaceID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.ObjectType+" "+e.ObjectID+" by "+e.Actor)
	}
	want := []string{
		"revoke api_token reports by cli",
		"create write_key web by cli",
		"create api_token reports by cli",
		"create member ada@example.com by cli",
		"create account ada@example.com by cli",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
