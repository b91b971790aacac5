package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// handlerFunc is the shape of every Northstar handler: it writes a response
// and returns nil, or writes nothing and returns the error to report.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler, reporting its error with writeError.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// httpError is an error with an HTTP status that no kpi error code maps to,
// such as 405 for a method a route does not accept.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.message }

// errorStatus returns the HTTP status, the error code and the message that
// the client sees for err.
func errorStatus(err error) (status int, code, message string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.code, he.message
	}

	code = kpi.ErrorCode(err)
	switch code {
	case kpi.EINVALID:
		status = http.StatusBadRequest
	case kpi.ENOTFOUND:
		status = http.StatusNotFound
	case kpi.ECONFLICT:
		status = http.StatusConflict
	case kpi.EUNAUTHORIZED:
		status = http.StatusUnauthorized
	case kpi.EFORBIDDEN:
		status = http.StatusForbidden
	case kpi.ETOOMANY:
		status = http.StatusTooManyRequests
	case kpi.ETOOLARGE:
		status = http.StatusRequestEntityTooLarge
	case kpi.EUNSUPPORTED:
		status = http.StatusUnsupportedMediaType
	default:
		status = http.StatusInternalServerError
	}
	return status, code, kpi.ErrorMessage(err)
}

// errorBody is the JSON body of every API error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError reports err to the client: as JSON for paths under /api/ and the
// ingestion paths, which SDKs call, and as
// an HTML page otherwise. Internal errors are logged with the request and
// shown to the client only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, message := errorStatus(err)
	if status >= http.StatusInternalServerError {
		s.logger.ErrorContext(r.Context(), "request failed", requestAttrs(r), slog.Any("error", err))
	}

	if isAPIPath(r.URL.Path) {
		s.writeJSON(w, r, status, errorBody{Error: errorDetail{Code: code, Message: message}})
		return
	}
	s.renderErrorPage(w, r, status, message)
}

// writeJSON encodes v into a buffer and writes it with the given status, so an
// encoding failure becomes a 500 rather than half a body.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.logger.ErrorContext(r.Context(), "encoding JSON response failed", requestAttrs(r), slog.Any("error", err))
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error": {"code": "internal", "message": "internal error"}}` + "\n")
	}

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFoundPath returns the error for a request to a path that serves nothing.
func notFoundPath(r *http.Request) error {
	return kpi.Errorf(kpi.ENOTFOUND, "no page or endpoint at %s; the dashboard is at / and the API under /api/v1/kpis", r.URL.Path)
}

func isAPIPath(path string) bool {
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/v1/") {
		return true
	}
	// The PostHog capture paths, with and without their trailing slash.
	for _, p := range postHogPaths {
		if path == p || path == p[:len(p)-1] {
			return true
		}
	}
	return false
}

// requestAttrs returns the request's method and path as one log group.
func requestAttrs(r *http.Request) slog.Attr {
	return slog.Group("http", slog.String("method", r.Method), slog.String("path", r.URL.Path))
}

// statusWriter records the status a handler wrote, for the request log and
// for the panic handler, which may only write a response if none was started.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(status int) {
	if sw.status == 0 {
		sw.status = status
	}
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// recoverPanics turns a panic in next into a logged 500 response. It re-panics
// with http.ErrAbortHandler, which net/http uses to abort a response quietly.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}

		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}

			s.logger.ErrorContext(r.Context(), "handler panicked", requestAttrs(r),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				s.writeError(sw, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// logRequests logs every request at debug level with its status and duration.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)

		s.logger.DebugContext(r.Context(), "request",
			slog.Group("http",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Duration("duration", time.Since(start))))
	})
}

// contentSecurityPolicy allows scripts, styles and images from this server
// only. Pages pass data to scripts in JSON blocks, never in inline code.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
