package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

var writeKeyTests = []test{
	{"create and authenticate", testWriteKeyCreateAuthenticate},
	{"stores only a hash", testWriteKeyStoresHash},
	{"name conflict", testWriteKeyNameConflict},
	{"revoke", testWriteKeyRevoke},
	{"invalid names", testWriteKeyInvalidNames},
	{"unknown secrets", testWriteKeyUnknownSecrets},
}

// secretPattern is "ns_wk_" and 32 random bytes in lowercase base32 without
// padding: ceil(256 / 5) = 52 characters.
var secretPattern = regexp.MustCompile(`^ns_wk_[a-z2-7]{52}$`)

func createKey(t *testing.T, s Store, name string) (store.WriteKey, string) {
	t.Helper()
	key, secret, err := s.CreateWriteKey(context.Background(), name)
	if err != nil {
		t.Fatalf("CreateWriteKey(%q): %v", name, err)
	}
	return key, secret
}

func assertCode(t *testing.T, label string, err error, want string) {
	t.Helper()
	if code := kpi.ErrorCode(err); code != want {
		t.Errorf("%s: error code = %q, want %q (%v)", label, code, want, err)
	}
}

func testWriteKeyCreateAuthenticate(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()

	before := time.Now().Add(-time.Second)
	web, webSecret := createKey(t, db, "web")
	backend, backendSecret := createKey(t, db, "backend")
	after := time.Now().Add(time.Second)

	if !secretPattern.MatchString(webSecret) {
		t.Errorf("secret %q does not match %s", webSecret, secretPattern)
	}
	if webSecret == backendSecret {
		t.Error("two keys got the same secret")
	}
	if web.Name != "web" || web.Prefix != webSecret[:12] || web.RevokedAt != nil {
		t.Errorf("created key = %+v, want name web, prefix %q, not revoked", web, webSecret[:12])
	}
	if web.CreatedAt.Before(before) || web.CreatedAt.After(after) {
		t.Errorf("CreatedAt = %s, want between %s and %s", web.CreatedAt, before, after)
	}

	got, err := db.AuthenticateWriteKey(ctx, backendSecret)
	if err != nil {
		t.Fatalf("AuthenticateWriteKey: %v", err)
	}
	if got.ID != backend.ID || got.Name != "backend" || got.Prefix != backendSecret[:12] {
		t.Errorf("authenticated key = %+v, want %+v", got, backend)
	}
	if !got.CreatedAt.Equal(backend.CreatedAt) {
		t.Errorf("authenticated CreatedAt = %s, want %s", got.CreatedAt, backend.CreatedAt)
	}

	keys, err := db.ListWriteKeys(ctx)
	if err != nil {
		t.Fatalf("ListWriteKeys: %v", err)
	}
	if len(keys) != 2 || keys[0].Name != "web" || keys[1].Name != "backend" {
		t.Fatalf("ListWriteKeys = %+v, want web then backend", keys)
	}
	if !keys[0].CreatedAt.Equal(web.CreatedAt) || keys[0].Prefix != web.Prefix {
		t.Errorf("listed key = %+v, want %+v", keys[0], web)
	}
}

func testWriteKeyStoresHash(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	_, secret := createKey(t, db, "web")

	sum := sha256.Sum256([]byte(secret))
	hash := hex.EncodeToString(sum[:])

	if n := countRows(t, db, "SELECT count(*) FROM write_keys WHERE secret_hash = '"+hash+"'"); n != 1 {
		t.Errorf("%d keys have the secret's SHA-256, want 1", n)
	}
	if n := countRows(t, db, "SELECT count(*) FROM write_keys WHERE secret_hash = '"+secret+"' OR prefix = '"+secret+"' OR name = '"+secret+"'"); n != 0 {
		t.Errorf("%d rows store the secret in clear, want 0", n)
	}
}

func testWriteKeyNameConflict(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	createKey(t, db, "web")

	_, secret, err := db.CreateWriteKey(context.Background(), "web")

	assertCode(t, "second key named web", err, kpi.ECONFLICT)
	if secret != "" {
		t.Errorf("a rejected key returned secret %q", secret)
	}
	if err != nil && !strings.Contains(err.Error(), `"web"`) {
		t.Errorf("error %q does not name the key", err)
	}
	if n := countRows(t, db, "SELECT count(*) FROM write_keys"); n != 1 {
		t.Errorf("write_keys table has %d rows, want 1", n)
	}
}

func testWriteKeyRevoke(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	old, oldSecret := createKey(t, db, "web")

	if err := db.RevokeWriteKey(ctx, "web"); err != nil {
		t.Fatalf("RevokeWriteKey: %v", err)
	}

	_, err := db.AuthenticateWriteKey(ctx, oldSecret)
	assertCode(t, "revoked secret", err, kpi.EUNAUTHORIZED)
	assertCode(t, "second revoke", db.RevokeWriteKey(ctx, "web"), kpi.ENOTFOUND)
	assertCode(t, "revoke of an unknown name", db.RevokeWriteKey(ctx, "mobile"), kpi.ENOTFOUND)

	// The name is free again, and only the new secret works.
	_, newSecret := createKey(t, db, "web")
	if _, err := db.AuthenticateWriteKey(ctx, newSecret); err != nil {
		t.Errorf("new key: %v", err)
	}
	_, err = db.AuthenticateWriteKey(ctx, oldSecret)
	assertCode(t, "revoked secret after a new key", err, kpi.EUNAUTHORIZED)

	keys, err := db.ListWriteKeys(ctx)
	if err != nil {
		t.Fatalf("ListWriteKeys: %v", err)
	}
	if len(keys) != 2 {
		t.Fatalf("ListWriteKeys returned %d keys, want 2", len(keys))
	}
	if keys[0].ID != old.ID || keys[0].RevokedAt == nil {
		t.Errorf("first listed key = %+v, want the revoked key %d", keys[0], old.ID)
	} else if keys[0].RevokedAt.Before(keys[0].CreatedAt) {
		t.Errorf("RevokedAt %s is before CreatedAt %s", keys[0].RevokedAt, keys[0].CreatedAt)
	}
	if keys[1].RevokedAt != nil {
		t.Errorf("new key is listed as revoked at %s", keys[1].RevokedAt)
	}
}

func testWriteKeyInvalidNames(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()

	for _, name := range []string{"", "web app", "wéb", "a/b", strings.Repeat("k", 65)} {
		_, _, err := db.CreateWriteKey(ctx, name)
		assertCode(t, "name "+name, err, kpi.EINVALID)
	}
	if n := countRows(t, db, "SELECT count(*) FROM write_keys"); n != 0 {
		t.Errorf("write_keys table has %d rows, want 0", n)
	}

	for _, name := range []string{strings.Repeat("k", 64), "ios-app_v2.1"} {
		createKey(t, db, name)
	}
}

func testWriteKeyUnknownSecrets(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ctx := context.Background()
	_, secret := createKey(t, db, "web")

	for _, s := range []string{"", "ns_wk_", secret[:12], secret + "a", strings.ToUpper(secret)} {
		_, err := db.AuthenticateWriteKey(ctx, s)
		assertCode(t, "secret "+s, err, kpi.EUNAUTHORIZED)
	}
}
