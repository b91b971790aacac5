package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// WriteKeyStore creates, lists and revokes the write keys of one workspace.
// The stores that serve ingestion implement it; the server serves the write
// key routes for a workspace whose ingestion store does.
type WriteKeyStore interface {
	// CreateWriteKey stores a new key named name and returns it with its
	// secret, which is not stored and cannot be read again.
	CreateWriteKey(ctx context.Context, name string) (store.WriteKey, string, error)

	// ListWriteKeys returns every key, revoked ones included, oldest first.
	ListWriteKeys(ctx context.Context) ([]store.WriteKey, error)

	// RevokeWriteKey revokes the active key named name. It returns a
	// kpi.ENOTFOUND error when there is none.
	RevokeWriteKey(ctx context.Context, name string) error
}

func (s *Server) registerWriteKeyRoutes() {
	s.register("GET /api/v1/keys", AccessAdmin, s.handle(s.handleWriteKeyList))
	s.register("POST /api/v1/keys", AccessAdmin, s.handle(s.handleWriteKeyCreate))
	s.register("DELETE /api/v1/keys/{name}", AccessAdmin, s.handle(s.handleWriteKeyRevoke))
	s.register("GET /admin/keys", AccessAdmin, s.handle(s.handleWriteKeysPage))
	s.register("POST /admin/keys", AccessAdmin, s.handle(s.handleWriteKeyForm))
	s.register("POST /admin/keys/revoke", AccessAdmin, s.handle(s.handleWriteKeyRevokeForm))
}

// writeKeys returns the write key store of the request's workspace.
func (s *Server) writeKeys(ctx context.Context) (WriteKeyStore, error) {
	keys, ok := s.in(ctx).ingest.(WriteKeyStore)
	if !ok {
		return nil, kpi.Errorf(kpi.ENOTFOUND, "this server keeps no write keys: it was started without ingestion")
	}
	return keys, nil
}

// writeKeyJSON is a write key in the API. It never holds the secret.
type writeKeyJSON struct {
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"` // the first characters of the secret
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Active    bool       `json:"active"`
}

func newWriteKeyJSON(k store.WriteKey) writeKeyJSON {
	return writeKeyJSON{Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), RevokedAt: k.RevokedAt, Active: k.RevokedAt == nil}
}

func (s *Server) handleWriteKeyList(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.writeKeys(r.Context())
	if err != nil {
		return err
	}
	list, err := keys.ListWriteKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]writeKeyJSON, 0, len(list))
	for _, k := range list {
		out = append(out, newWriteKeyJSON(k))
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"keys": out})
	return nil
}

// writeKeyCreated is the body of a 201 response to POST /api/v1/keys. It is
// the only response that contains the secret.
type writeKeyCreated struct {
	writeKeyJSON
	Secret string `json:"secret"`
}

// handleWriteKeyCreate serves POST /api/v1/keys {"name": "web"}: a new
// write key of the request's workspace, with its secret shown once.
func (s *Server) handleWriteKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return kpi.Errorf(kpi.EINVALID, "the body is not a JSON object like {\"name\": \"web\"}: %v", err)
	}
	key, secret, err := s.createWriteKey(r.Context(), strings.TrimSpace(req.Name))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusCreated, writeKeyCreated{writeKeyJSON: newWriteKeyJSON(key), Secret: secret})
	return nil
}

func (s *Server) handleWriteKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.revokeWriteKey(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createWriteKey creates a write key in the workspace of ctx and records it
// in the audit log.
func (s *Server) createWriteKey(ctx context.Context, name string) (store.WriteKey, string, error) {
	keys, err := s.writeKeys(ctx)
	if err != nil {
		return store.WriteKey{}, "", err
	}
	key, secret, err := keys.CreateWriteKey(ctx, name)
	if err != nil {
		return key, "", err
	}
	s.auditChange(ctx, auth.AuditEntry{Action: "create", ObjectType: "write_key", ObjectID: key.Name,
		After: map[string]any{"id": key.ID, "name": key.Name, "prefix": key.Prefix}})
	return key, secret, nil
}

// revokeWriteKey revokes the active write key named name in the workspace
// of ctx and records it in the audit log.
func (s *Server) revokeWriteKey(ctx context.Context, name string) error {
	keys, err := s.writeKeys(ctx)
	if err != nil {
		return err
	}
	if err := keys.RevokeWriteKey(ctx, name); err != nil {
		return err
	}
	s.auditChange(ctx, auth.AuditEntry{Action: "revoke", ObjectType: "write_key", ObjectID: name,
		Before: map[string]any{"revoked_at": nil}, After: map[string]any{"revoked_at": s.now().UTC()}})
	return nil
}

// writeKeysPage is the data of templates/keys.html.
type writeKeysPage struct {
	pageBase
	Keys    []writeKeyJSON
	Message string // the result of the last change
	Error   string // the reason the last change was rejected
	Name    string // the create form's name after a rejection

	// Created and Secret show a key just created, the one time its secret
	// is shown.
	Created string
	Secret  string
}

func (s *Server) handleWriteKeysPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderWriteKeys(w, r, http.StatusOK, writeKeysPage{Message: r.URL.Query().Get("done")})
}

func (s *Server) renderWriteKeys(w http.ResponseWriter, r *http.Request, status int, page writeKeysPage) error {
	keys, err := s.writeKeys(r.Context())
	if err != nil {
		return err
	}
	list, err := keys.ListWriteKeys(r.Context())
	if err != nil {
		return err
	}
	page.pageBase = s.newPageBase(r, "Write keys")
	for _, k := range list {
		page.Keys = append(page.Keys, newWriteKeyJSON(k))
	}
	return s.renderPage(w, r, status, "keys", page)
}

// handleWriteKeyForm creates a key and shows its secret on the page it
// returns, not through a redirect, so the secret is in no URL or history.
func (s *Server) handleWriteKeyForm(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	key, secret, err := s.createWriteKey(r.Context(), name)
	if err != nil {
		return s.rejectWriteKeyForm(w, r, name, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.renderWriteKeys(w, r, http.StatusOK, writeKeysPage{Created: key.Name, Secret: secret})
}

func (s *Server) handleWriteKeyRevokeForm(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if err := s.revokeWriteKey(r.Context(), name); err != nil {
		return s.rejectWriteKeyForm(w, r, "", err)
	}
	http.Redirect(w, r, "/admin/keys?done="+url.QueryEscape("The write key "+name+" was revoked: its events are kept, and new ones sent with it get 401."), http.StatusSeeOther)
	return nil
}

// rejectWriteKeyForm shows the write keys page with the reason a change was
// rejected, or returns err when it is not the form's fault.
func (s *Server) rejectWriteKeyForm(w http.ResponseWriter, r *http.Request, name string, err error) error {
	switch kpi.ErrorCode(err) {
	case kpi.EINVALID, kpi.ENOTFOUND, kpi.ECONFLICT:
		status, _, message := errorStatus(err)
		return s.renderWriteKeys(w, r, status, writeKeysPage{Error: message, Name: name})
	}
	return err
}
