package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

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
