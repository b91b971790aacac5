package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// AuthStore keeps accounts, sessions, memberships, API tokens and the audit
// log. *auth.Store implements it.
type AuthStore interface {
	// Authenticate returns the account with the e-mail address and password,
	// or EUNAUTHORIZED with one message for an unknown address and a wrong
	// password.
	Authenticate(ctx context.Context, email, password string) (auth.Account, error)

	// CreateSession starts a session and returns it with its secret. It
	// returns EFORBIDDEN for an account that is a member of no workspace.
	CreateSession(ctx context.Context, acc auth.Account, ttl time.Duration) (auth.Session, string, error)

	// SessionBySecret returns the live session with the secret, or
	// EUNAUTHORIZED when it is unknown or expired.
	SessionBySecret(ctx context.Context, secret string) (auth.Session, error)

	// DeleteSession ends the session with the secret.
	DeleteSession(ctx context.Context, secret string) error

	// ChangePassword checks current and stores next, ending the account's
	// other sessions. It returns EUNAUTHORIZED for a wrong current password
	// and EINVALID for a bad new one.
	ChangePassword(ctx context.Context, accountID int64, current, next string, keepSessionID int64) error

	// AuthenticateToken returns the active API token with the secret, or
	// EUNAUTHORIZED when it is unknown or revoked.
	AuthenticateToken(ctx context.Context, secret string) (auth.APIToken, error)

	// Record appends an entry to the audit log.
	Record(ctx context.Context, e auth.AuditEntry) error

	// AuditLog returns up to limit entries of a workspace, newest first,
	// with ids below beforeID when it is positive.
	AuditLog(ctx context.Context, workspaceID, beforeID int64, limit int) ([]auth.AuditEntry, error)

	// Members returns the members of a workspace.
	Members(ctx context.Context, workspaceID int64) ([]auth.Membership, error)

	// SetMember adds a member or changes its role, with an audit entry.
	// It returns EINVALID for an unknown role and ENOTFOUND for an unknown
	// account.
	SetMember(ctx context.Context, workspaceID int64, email string, role auth.Role, actor string) (auth.Membership, error)

	// RemoveMember removes a member, with an audit entry. It returns
	// ENOTFOUND for a non-member and ECONFLICT for the last admin.
	RemoveMember(ctx context.Context, workspaceID int64, email, actor string) error

	// DeleteExpiredSessions removes expired sessions and returns how many.
	DeleteExpiredSessions(ctx context.Context) (int64, error)

	// CreateToken creates an API token and returns it with its secret, with
	// an audit entry. It returns EINVALID for a bad name or role and
	// ECONFLICT when an active token has the name.
	CreateToken(ctx context.Context, workspaceID int64, name string, role auth.Role, actor string) (auth.APIToken, string, error)

	// Tokens returns the API tokens of a workspace, revoked ones included.
	Tokens(ctx context.Context, workspaceID int64) ([]auth.APIToken, error)

	// RevokeToken revokes the active token with the name, with an audit
	// entry. It returns ENOTFOUND when no active token has the name.
	RevokeToken(ctx context.Context, workspaceID int64, name, actor string) error

	// AccountWorkspaces returns the workspaces an account is a member of.
	AccountWorkspaces(ctx context.Context, accountID int64) ([]auth.AccountWorkspace, error)

	// SwitchWorkspace moves a session to another workspace of its account.
	// It returns EFORBIDDEN when the account is not a member there.
	SwitchWorkspace(ctx context.Context, sess auth.Session, workspaceID int64) error
}

var _ AuthStore = (*auth.Store)(nil)

// defaultSessionTTL is how long a session lasts after sign-in.
const defaultSessionTTL = 12 * time.Hour

func (s *Server) registerAccountRoutes() {
	s.register("GET /signin", AccessPublic, s.handle(s.handleSignInPage))
	s.register("POST /signin", AccessPublic, s.handle(s.handleSignIn))
	s.register("POST /signout", AccessSession, s.handle(s.handleSignOut))
	s.register("GET /account", AccessSession, s.handle(s.handleAccountPage))
	s.register("POST /account/password", AccessSession, s.handle(s.handleChangePassword))
	s.register("POST /account/workspace", AccessSession, s.handle(s.handleSwitchWorkspace))
	s.register("GET /api/v1/me", AccessSignedIn, s.handle(s.handleMe))
}

// signInPage is the data of templates/signin.html.
type signInPage struct {
	pageBase
	Email   string
	Next    string
	Message string
}

func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	return s.renderSignIn(w, r, http.StatusOK, signInPage{Next: next})
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, page signInPage) error {
	page.pageBase = s.newPageBase(r, "Sign in")
	return s.renderPage(w, r, status, "signin", page)
}

// handleSignIn checks the e-mail address and password of the sign-in form,
// starts a session and redirects to the page the user came for.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	if err := checkSameOrigin(r); err != nil {
		return err
	}
	if s.auth == nil {
		return kpi.Errorf(kpi.EUNAUTHORIZED, "sign-in failed: the server was started without an account store")
	}

	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	page := signInPage{Email: email, Next: localPath(r.PostFormValue("next"))}
	addr := clientAddr(r)
	if email == "" || password == "" {
		page.Message = "Enter your e-mail address and password."
		return s.renderSignIn(w, r, http.StatusBadRequest, page)
	}

	if wait := s.signInLimits.blocked(email, addr, s.now()); wait > 0 {
		s.logger.WarnContext(r.Context(), "sign-in rejected after too many failed attempts", slog.String("email", email), slog.String("address", addr))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		page.Message = "Too many failed sign-ins for this account or address. Try again in " + waitText(wait) + "."
		return s.renderSignIn(w, r, http.StatusTooManyRequests, page)
	}

	acc, err := s.auth.Authenticate(r.Context(), email, password)
	if kpi.ErrorCode(err) == kpi.EUNAUTHORIZED {
		s.signInLimits.fail(email, addr, s.now())
		s.logger.InfoContext(r.Context(), "sign-in failed", slog.String("email", email), slog.String("addr", addr))
		page.Message = "Wrong e-mail address or password."
		return s.renderSignIn(w, r, http.StatusUnauthorized, page)
	}
	if err != nil {
		return err
	}

	sess, secret, err := s.auth.CreateSession(r.Context(), acc, s.sessionTTL)
	if kpi.ErrorCode(err) == kpi.EFORBIDDEN {
		page.Message = kpi.ErrorMessage(err)
		return s.renderSignIn(w, r, http.StatusForbidden, page)
	}
	if err != nil {
		return err
	}
	s.signInLimits.succeed(email)
	if _, err := s.auth.DeleteExpiredSessions(r.Context()); err != nil {
		s.logger.ErrorContext(r.Context(), "deleting expired sessions failed", slog.Any("error", err))
	}

	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		HttpOnly: true,
		Secure:   s.secureCookies || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	s.logger.InfoContext(r.Context(), "signed in", slog.String("email", acc.Email), slog.Int64("workspace", sess.WorkspaceID))

	next := page.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	if cookie, err := r.Cookie(sessionCookie); err == nil {
		if err := s.auth.DeleteSession(r.Context(), cookie.Value); err != nil {
			return err
		}
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// accountPage is the data of templates/account.html.
type accountPage struct {
	pageBase
	Email       string
	Role        auth.Role
	WorkspaceID int64
	Workspaces  []auth.AccountWorkspace // shown as a switch when there are several
	Message     string
	Error       string
}

// newAccountPage returns the account page of the request's principal.
func (s *Server) newAccountPage(r *http.Request) (accountPage, error) {
	p := PrincipalFrom(r.Context())
	workspaces, err := s.auth.AccountWorkspaces(r.Context(), p.AccountID)
	if err != nil {
		return accountPage{}, err
	}
	return accountPage{pageBase: s.newPageBase(r, "Account"), Email: p.Email, Role: p.Role,
		WorkspaceID: p.WorkspaceID, Workspaces: workspaces}, nil
}

// handleSwitchWorkspace moves the session to the workspace of the form's
// workspace field.
func (s *Server) handleSwitchWorkspace(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	id, err := strconv.ParseInt(r.PostFormValue("workspace"), 10, 64)
	if err != nil {
		return kpi.Errorf(kpi.EINVALID, "workspace %q is not a workspace id", r.PostFormValue("workspace"))
	}
	if err := s.auth.SwitchWorkspace(r.Context(), *p.Session, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func (s *Server) handleAccountPage(w http.ResponseWriter, r *http.Request) error {
	page, err := s.newAccountPage(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("changed") == "1" {
		page.Message = "Your password was changed. Your other sessions were signed out."
	}
	return s.renderPage(w, r, http.StatusOK, "account", page)
}

// handleChangePassword changes the signed-in account's password.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	current, next, confirm := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	var err error
	if next != confirm {
		err = kpi.Errorf(kpi.EINVALID, "the new password and its confirmation differ")
	} else {
		err = s.auth.ChangePassword(r.Context(), p.AccountID, current, next, p.Session.ID)
	}
	switch code := kpi.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, "/account?changed=1", http.StatusSeeOther)
		return nil
	case code == kpi.EINVALID || code == kpi.EUNAUTHORIZED:
		status, _, _ := errorStatus(err)
		if code == kpi.EUNAUTHORIZED {
			status = http.StatusBadRequest // the session is fine; the form is not
		}
		page, pageErr := s.newAccountPage(r)
		if pageErr != nil {
			return pageErr
		}
		page.Error = kpi.ErrorMessage(err)
		return s.renderPage(w, r, status, "account", page)
	default:
		return err
	}
}

// meResponse is the body of GET /api/v1/me.
type meResponse struct {
	Email       string    `json:"email,omitempty"`
	Token       string    `json:"token,omitempty"`
	WorkspaceID int64     `json:"workspace_id"`
	Role        auth.Role `json:"role"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	s.writeJSON(w, r, http.StatusOK, meResponse{Email: p.Email, Token: p.TokenName, WorkspaceID: p.WorkspaceID, Role: p.Role})
	return nil
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// localPath returns next when it is a path on this server, and "" for
// anything else, so that the sign-in redirect cannot lead to another site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return next
}

// checkSameOrigin returns EFORBIDDEN when the Origin header names another
// host. The sign-in form has no session to tie a CSRF
// token to, so it relies on the Origin header instead.
func checkSameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != r.Host {
		return kpi.Errorf(kpi.EFORBIDDEN, "sign-in from another site (%s) is not allowed", origin)
	}
	return nil
}

// clientAddr returns the IP address of the request's client, without the
// port. It does not trust X-Forwarded-For.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// waitText formats wait in words, rounded up: "15 minutes", "60 seconds"
// or "1 second".
func waitText(wait time.Duration) string {
	if wait > time.Minute {
		m := int((wait + time.Minute - 1) / time.Minute)
		return strconv.Itoa(m) + " minutes"
	}
	s := int((wait + time.Second - 1) / time.Second)
	if s == 1 {
		return "1 second"
	}
	return strconv.Itoa(s) + " seconds"
}
