package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Access is who may call a route. Every route declares one when it is
// registered with Server.register; the server checks it on every request.
type Access string

// The access rules of routes.
const (
	// AccessPublic routes serve everyone: /healthz, /readyz, assets and the
	// sign-in page.
	AccessPublic Access = "public"

	// AccessWriteKey routes are the ingestion endpoints. Their handler
	// checks the write key, which authorizes nothing else.
	AccessWriteKey Access = "write key"

	// AccessShareToken routes serve what a share link shows. Their handler
	// checks the share token in the path.
	AccessShareToken Access = "share token"

	// AccessSignedIn routes need a session or an API token with any role.
	AccessSignedIn Access = "signed in"

	// AccessSession routes need a browser session with any role, such as
	// sign-out and the password change; API tokens get 403.
	AccessSession Access = "session"

	// AccessViewer, AccessEditor and AccessAdmin routes need at least that
	// role in the request's workspace.
	AccessViewer Access = "viewer"
	AccessEditor Access = "editor"
	AccessAdmin  Access = "admin"

	// AccessServerAdmin routes need the admin role in the default
	// workspace. They serve data that covers every workspace of the
	// server, such as /metrics, to the server's operators.
	AccessServerAdmin Access = "admin of the default workspace"

	// accessUnset marks a route registered without a rule. Requests to it
	// are rejected, and the access table test fails on it.
	accessUnset Access = ""
)

// role returns the role that a, a role rule, needs.
func (a Access) role() auth.Role {
	switch a {
	case AccessViewer, AccessSignedIn, AccessSession:
		return auth.RoleViewer
	case AccessEditor:
		return auth.RoleEditor
	case AccessAdmin, AccessServerAdmin:
		return auth.RoleAdmin
	}
	return ""
}

// Route is one registered route and its access rule.
type Route struct {
	Pattern string // a net/http ServeMux pattern, such as "GET /api/v1/kpis/{id}"
	Access  Access
}

// routeMux is the server's ServeMux. It records every pattern with its
// access rule. Handle and HandleFunc register a route without a rule, which
// returns 403 to everyone until it is registered with Server.register.
type routeMux struct {
	*http.ServeMux
	server *Server
	routes []Route
}

// Handle registers h without an access rule: see routeMux.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.register(pattern, accessUnset, h)
}

// HandleFunc registers h without an access rule: see routeMux.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.register(pattern, accessUnset, http.HandlerFunc(h))
}

func (m *routeMux) register(pattern string, need Access, h http.Handler) {
	m.routes = append(m.routes, Route{Pattern: pattern, Access: need})
	m.ServeMux.Handle(pattern, m.server.authorize(pattern, need, h))
}

// register serves h at pattern to the callers that need allows. Every
// route is registered this way.
func (s *Server) register(pattern string, need Access, h http.Handler) {
	s.mux.register(pattern, need, h)
}

// Routes returns every registered route with its access rule, in
// registration order.
func (s *Server) Routes() []Route {
	return append([]Route(nil), s.mux.routes...)
}

// Principal is who made a request: a signed-in account or an API token,
// with its role in the request's workspace.
type Principal struct {
	WorkspaceID int64
	Role        auth.Role

	// Email is the signed-in account's address; empty for an API token.
	Email     string
	AccountID int64

	// Session is the browser session, nil for an API token.
	Session *auth.Session

	// TokenName is the API token's name; empty for a session.
	TokenName string
}

// Actor returns who the audit log names for the principal's changes.
func (p *Principal) Actor() string {
	if p.TokenName != "" {
		return "token:" + p.TokenName
	}
	return p.Email
}

type principalKey struct{}

// PrincipalFrom returns the principal of an authorized request, or nil for
// public, write key and share token routes.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// workspaceOf returns the workspace a request reads and changes: the
// principal's, or the default workspace for routes without one.
func workspaceOf(r *http.Request) int64 {
	if p := PrincipalFrom(r.Context()); p != nil {
		return p.WorkspaceID
	}
	return auth.DefaultWorkspaceID
}

// authorize wraps h with the check of need: it authenticates the request,
// compares the role, checks the CSRF token of a state-changing request
// made with a session cookie, and puts the Principal and its workspace in
// the context.
func (s *Server) authorize(pattern string, need Access, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch need {
		case AccessPublic, AccessWriteKey, AccessShareToken:
			h.ServeHTTP(w, r)
			return
		case accessUnset:
			s.logger.ErrorContext(r.Context(), "route has no access rule; register it with Server.register", slog.String("pattern", pattern))
			s.writeError(w, r, kpi.Errorf(kpi.EFORBIDDEN, "%s has no access rule, so it is closed", pattern))
			return
		}

		if need == AccessViewer && safeMethod(r.Method) && isSharedRead(r.Context()) {
			h.ServeHTTP(w, r)
			return
		}

		p, err := s.authenticate(r)
		if err != nil {
			s.rejectUnauthenticated(w, r, err)
			return
		}
		// From here on, error pages show who is signed in.
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if need == AccessSession && p.Session == nil {
			s.writeError(w, r, kpi.Errorf(kpi.EFORBIDDEN, "%s needs a browser session; API tokens cannot use it", pattern))
			return
		}
		if !p.Role.Allows(need.role()) {
			s.writeError(w, r, kpi.Errorf(kpi.EFORBIDDEN, "this action needs the %s role in workspace %d, but you are %s; ask an admin of the workspace for the role",
				need.role(), p.WorkspaceID, p.Role))
			return
		}
		if need == AccessServerAdmin && p.WorkspaceID != auth.DefaultWorkspaceID {
			s.writeError(w, r, kpi.Errorf(kpi.EFORBIDDEN, "%s covers every workspace of this server, so only admins of the default workspace (1) may read it; you are signed in to workspace %d",
				pattern, p.WorkspaceID))
			return
		}
		// Every store the handler reaches through Server.in reads and
		// changes only the principal's workspace.
		ctx, err := s.withWorkspace(r.Context(), p.WorkspaceID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(ctx)
		if p.Session != nil && !safeMethod(r.Method) {
			if err := checkCSRF(r, p.Session.CSRFToken); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

type sharedReadKey struct{}

// withSharedRead marks ctx for an in-process GET that a share link's
// handler makes for the dashboard the link shows, such as the feedback
// list of a widget. authorize serves such a read of a viewer route without
// credentials. Clients cannot set a context value, so only handlers can.
func withSharedRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedReadKey{}, true)
}

func isSharedRead(ctx context.Context) bool {
	shared, _ := ctx.Value(sharedReadKey{}).(bool)
	return shared && PrincipalFrom(ctx) == nil
}

// sessionCookie is the name of the cookie that holds a session's secret.
const sessionCookie = "northstar_session"

// csrfHeader and csrfField carry the session's CSRF token.
const (
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf_token"
)

// authenticate returns the principal of r from its Authorization header
// (an API token) or its session cookie. It returns EUNAUTHORIZED for
// missing, unknown, expired and revoked credentials, and EFORBIDDEN for a
// write key, which may only send events.
func (s *Server) authenticate(r *http.Request) (*Principal, error) {
	if s.auth == nil {
		return nil, kpi.Errorf(kpi.EUNAUTHORIZED, "authentication failed: the server was started without an account store")
	}

	if header := r.Header.Get("Authorization"); header != "" {
		return s.authenticateHeader(r, header)
	}

	cookie, err := r.Cookie(sessionCookie)
	if err != nil || cookie.Value == "" {
		return nil, kpi.Errorf(kpi.EUNAUTHORIZED, "sign in first, or send an API token as \"Authorization: Bearer ns_at_...\"")
	}
	sess, err := s.auth.SessionBySecret(r.Context(), cookie.Value)
	if err != nil {
		return nil, err
	}
	return &Principal{WorkspaceID: sess.WorkspaceID, Role: sess.Role, Email: sess.Email, AccountID: sess.AccountID, Session: &sess}, nil
}

func (s *Server) authenticateHeader(r *http.Request, header string) (*Principal, error) {
	secret, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		if user, _, basic := r.BasicAuth(); basic {
			secret = user
		}
	}
	secret = strings.TrimSpace(secret)

	switch {
	case strings.HasPrefix(secret, store.WriteKeySecretPrefix):
		return nil, kpi.Errorf(kpi.EFORBIDDEN, "a write key can only send events and measurements to the ingestion endpoints; "+
			"call the API with an API token (northstar tokens create)")
	case !auth.IsAPIToken(secret):
		return nil, kpi.Errorf(kpi.EUNAUTHORIZED, "the Authorization header contains no API token (want \"Authorization: Bearer ns_at_...\")")
	}

	tok, err := s.auth.AuthenticateToken(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	return &Principal{WorkspaceID: tok.WorkspaceID, Role: tok.Role, TokenName: tok.Name}, nil
}

// rejectUnauthenticated responds to a request that authenticate rejected.
// A browser's GET of a page (Accept: text/html) is redirected to the
// sign-in page, which leads back to the requested page. Other requests,
// such as API calls and Prometheus scraping /metrics, get the error.
func (s *Server) rejectUnauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	if kpi.ErrorCode(err) == kpi.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="northstar"`)
		if !isAPIPath(r.URL.Path) && r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
			if _, cerr := r.Cookie(sessionCookie); cerr == nil {
				clearSessionCookie(w, r)
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
	}
	s.writeError(w, r, err)
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// checkCSRF returns EFORBIDDEN unless r carries want in the X-CSRF-Token
// header or the csrf_token form field.
func checkCSRF(r *http.Request, want string) error {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return kpi.Errorf(kpi.EFORBIDDEN, "the request has no valid CSRF token; reload the page and try again "+
			"(scripts send the %s header or use an API token)", csrfHeader)
	}
	return nil
}
