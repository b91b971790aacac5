package web

import (
	"net/http"
)

func (s *Server) registerHealthRoutes() {
	s.mux.Handle("GET /healthz", s.handle(s.handleHealth))
}

// handleHealth reports that the process serves HTTP. It checks no dependency.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}
