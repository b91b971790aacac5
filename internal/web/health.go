package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// readyTimeout bounds the store check of /readyz, so that a hung database
// makes the server not ready rather than making the probe hang.
const readyTimeout = 2 * time.Second

func (s *Server) registerHealthRoutes() {
	s.register("GET /healthz", AccessPublic, s.handle(s.handleHealth))
	s.register("GET /readyz", AccessPublic, s.handle(s.handleReady))
}

// handleHealth reports that the process serves HTTP. It checks no dependency.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

// handleReady reports whether the server can take requests: 200 when the
// ingestion store responds to a ping, and 503 when it does not.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.defaultWorkspace.ingest != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()

		if err := s.defaultWorkspace.ingest.Ping(ctx); err != nil {
			s.logger.ErrorContext(r.Context(), "readiness check failed: the store did not answer", requestAttrs(r), slog.Any("error", err))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: the database did not answer\n"))
			return nil
		}
	}
	_, _ = w.Write([]byte("ok\n"))
	return nil
}
