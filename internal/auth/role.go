// Package auth holds Northstar's accounts, workspace memberships and roles,
// browser sessions, API tokens and the audit log, and stores them in SQL.
// The same code serves SQLite and PostgreSQL through database/sql; the
// Dialect only rewrites placeholders.
package auth

import (
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Role is a member's permission level in a workspace. Roles are ordered:
// each one may do everything the roles below it may.
type Role string

// The roles, from least to most allowed.
const (
	RoleViewer Role = "viewer" // reads dashboards and KPIs
	RoleEditor Role = "editor" // also changes KPIs, targets, dashboards, annotations and feedback
	RoleAdmin  Role = "admin"  // also manages members, tokens, keys and settings
)

// Roles lists every role, from least to most allowed.
var Roles = []Role{RoleViewer, RoleEditor, RoleAdmin}

func (r Role) rank() int {
	for i, role := range Roles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a member with role r may do what needs role need.
// An invalid role allows nothing.
func (r Role) Allows(need Role) bool {
	return r.Valid() && need.Valid() && r.rank() >= need.rank()
}

// ParseRole returns the role named s, or an EINVALID error naming the roles.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", kpi.Errorf(kpi.EINVALID, "role %q does not exist (use viewer, editor or admin)", s)
	}
	return r, nil
}
