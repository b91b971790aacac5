package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

func (s *Server) registerMemberPageRoutes() {
	s.register("GET /admin/members", AccessAdmin, s.handle(s.handleMembersPage))
	s.register("POST /admin/members", AccessAdmin, s.handle(s.handleMemberForm))
	s.register("POST /admin/members/remove", AccessAdmin, s.handle(s.handleMemberRemoveForm))
}

// membersPage is the data of templates/members.html.
type membersPage struct {
	pageBase
	Members []auth.Membership
	Roles   []auth.Role
	Message string // the result of the last change
	Error   string // the reason the last change was rejected
	Email   string // the add form's e-mail address after a rejection
}

func (s *Server) handleMembersPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderMembers(w, r, http.StatusOK, membersPage{Message: r.URL.Query().Get("done")})
}

func (s *Server) renderMembers(w http.ResponseWriter, r *http.Request, status int, page membersPage) error {
	members, err := s.auth.Members(r.Context(), workspaceOf(r))
	if err != nil {
		return err
	}
	page.pageBase = s.newPageBase(r, "Members")
	page.Members, page.Roles = members, auth.Roles
	return s.renderPage(w, r, status, "members", page)
}

// handleMemberForm adds a member or changes a member's role.
func (s *Server) handleMemberForm(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	email := strings.TrimSpace(r.PostFormValue("email"))
	role, err := auth.ParseRole(r.PostFormValue("role"))
	if err == nil {
		_, err = s.auth.SetMember(r.Context(), p.WorkspaceID, email, role, p.Actor())
	}
	if err != nil {
		return s.rejectMemberForm(w, r, email, err)
	}
	http.Redirect(w, r, "/admin/members?done="+url.QueryEscape(email+" is now "+string(role)+"."), http.StatusSeeOther)
	return nil
}

func (s *Server) handleMemberRemoveForm(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := s.auth.RemoveMember(r.Context(), p.WorkspaceID, email, p.Actor()); err != nil {
		return s.rejectMemberForm(w, r, "", err)
	}
	http.Redirect(w, r, "/admin/members?done="+url.QueryEscape(email+" was removed."), http.StatusSeeOther)
	return nil
}

// rejectMemberForm shows the members page with the reason a change was
// rejected, or returns err when it is not the form's fault.
func (s *Server) rejectMemberForm(w http.ResponseWriter, r *http.Request, email string, err error) error {
	switch kpi.ErrorCode(err) {
	case kpi.EINVALID, kpi.ENOTFOUND, kpi.ECONFLICT:
		status, _, message := errorStatus(err)
		return s.renderMembers(w, r, status, membersPage{Error: message, Email: email})
	}
	return err
}
