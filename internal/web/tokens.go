package web

import (
	"encoding/json"
	"net/http"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

func (s *Server) registerTokenRoutes() {
	s.register("GET /api/v1/tokens", AccessAdmin, s.handle(s.handleTokenList))
	s.register("POST /api/v1/tokens", AccessAdmin, s.handle(s.handleTokenCreate))
	s.register("DELETE /api/v1/tokens/{name}", AccessAdmin, s.handle(s.handleTokenRevoke))
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	tokens, err := s.auth.Tokens(r.Context(), workspaceOf(r))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"tokens": tokens})
	return nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// tokenCreated is the body of a 201 response to POST /api/v1/tokens. It is
// the only response that contains the secret.
type tokenCreated struct {
	auth.APIToken
	Secret string `json:"secret"`
}

// handleTokenCreate serves POST /api/v1/tokens: a new API token of the
// request's workspace, with its secret shown once.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return kpi.Errorf(kpi.EINVALID, "the body is not a JSON object like {\"name\": \"reports\", \"role\": \"viewer\"}: %v", err)
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return err
	}

	p := PrincipalFrom(r.Context())
	tok, secret, err := s.auth.CreateToken(r.Context(), p.WorkspaceID, req.Name, role, p.Actor())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusCreated, tokenCreated{APIToken: tok, Secret: secret})
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if err := s.auth.RevokeToken(r.Context(), p.WorkspaceID, r.PathValue("name"), p.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
