// Package web serves Northstar over HTTP: the JSON API under /api/v1/, the
// server-rendered dashboard pages, their embedded static assets, the
// ingestion endpoints for tracking SDKs, and the operational endpoints
// (/healthz, /readyz, /metrics).
package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/ingest"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// SeriesComputer computes a KPI's series. Series returns a *kpi.Error with
// code kpi.ENOTFOUND for an unknown KPI id and kpi.EINVALID for a bad range.
// Any other error is internal. A zero Range selects the default range.
type SeriesComputer interface {
	Series(ctx context.Context, defs *kpi.Definitions, id string, grain timegrain.Grain, r engine.Range) (*engine.Series, error)
}

var _ SeriesComputer = (*engine.Engine)(nil)

// Config holds what a Server depends on.
type Config struct {
	// Definitions returns the KPI definitions in force. It is called once per
	// request, so the caller may swap the definitions while the server runs.
	Definitions func() *kpi.Definitions

	// Series computes KPI series.
	Series SeriesComputer

	// Logger receives request logs and every internal error. Nil discards them.
	Logger *slog.Logger

	// Now is the clock shown on pages as "as of", and the time ingested
	// events are received at. Nil means time.Now.
	Now func() time.Time

	// Ingest stores what the ingestion endpoints receive. Nil serves no
	// ingestion endpoints, and /readyz then checks nothing.
	Ingest IngestStore

	// IngestLimits bounds ingestion requests. Zero fields take their
	// ingest.DefaultLimits value.
	IngestLimits ingest.Limits

	// Alerts serves the alert rule API under /api/v1/alerts. Nil serves
	// no alert routes.
	Alerts *alerting.Rules

	// Reports serves the report schedule API under
	// /api/v1/reports/schedules. Nil serves no schedule routes.
	Reports *alerting.Reports

	// Collectors are more Prometheus metrics to serve on /metrics, such as
	// the scheduler's.
	Collectors []prometheus.Collector

	// KPIMeta stores annotations, feedback and the KPIs made in the UI, which
	// the server then serves beside the KPI file's. Nil serves none of them.
	KPIMeta KPIMetaStore

	// Dashboards keeps dashboards, widgets and share links. Nil serves no
	// dashboard routes besides the overview at /.
	Dashboards DashboardStore

	// Auth keeps accounts, sessions, API tokens and the audit log. Nil
	// disables sign-in, so every route that needs a role returns 401.
	Auth AuthStore

	// SessionTTL is how long a session lasts after sign-in. Zero means 12
	// hours.
	SessionTTL time.Duration

	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests, for a server behind a proxy that terminates TLS. Requests
	// that arrive over TLS always get a Secure cookie.
	SecureCookies bool

	// Targets stores target revisions, reviews and review cadences. Nil
	// serves their lists from the KPI file only and rejects changes.
	Targets TargetStore

	// Workspaces returns the services of every workspace but the default
	// one, which the fields above serve. Members of other workspaces, their
	// write keys and their share links get 403 when it is nil.
	Workspaces WorkspaceFactory
}

// Server is Northstar's HTTP handler. It is safe for concurrent use.
type Server struct {
	logger *slog.Logger
	now    func() time.Time

	// defaultWorkspace serves the default workspace from Config's fields;
	// workspaces serves the others. Handlers reach the request's one
	// through Server.in.
	defaultWorkspace *workspace
	workspaces       workspaces
	liveHubs         liveHubs

	ingestLimits ingest.Limits
	metrics      *serverMetrics

	auth          AuthStore
	sessionTTL    time.Duration
	secureCookies bool
	signInLimits  *signInLimiter

	mux       *routeMux
	handler   http.Handler // mux wrapped in the middleware
	templates map[string]*template.Template
	assets    http.Handler
	assetTags map[string]string // entity tags of the embedded assets by path
	chartLib  bool              // whether the ECharts bundle is embedded

	defaultsMu sync.Mutex // serialises creating the default dashboards
}

// NewServer returns a server for cfg and registers its routes. It parses the
// embedded templates and panics if they are broken, which is a build defect.
func NewServer(cfg Config) *Server {
	s := &Server{
		logger:        cfg.Logger,
		now:           cfg.Now,
		workspaces:    workspaces{factory: cfg.Workspaces, byID: map[int64]*workspaceEntry{}},
		metrics:       newServerMetrics(),
		templates:     mustParseTemplates(),
		assets:        assetHandler(),
		assetTags:     assetETags(),
		chartLib:      chartLibraryBundled(),
		auth:          cfg.Auth,
		sessionTTL:    cfg.SessionTTL,
		secureCookies: cfg.SecureCookies,
		signInLimits:  newSignInLimiter(),
	}
	s.mux = &routeMux{ServeMux: http.NewServeMux(), server: s}
	if s.sessionTTL <= 0 {
		s.sessionTTL = defaultSessionTTL
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.defaultWorkspace = s.newWorkspace(auth.DefaultWorkspaceID, WorkspaceServices{
		Definitions: cfg.Definitions,
		Series:      cfg.Series,
		Ingest:      cfg.Ingest,
		KPIMeta:     cfg.KPIMeta,
		Dashboards:  cfg.Dashboards,
		Targets:     cfg.Targets,
		Alerts:      cfg.Alerts,
		Reports:     cfg.Reports,
	})

	s.ingestLimits = cfg.IngestLimits.WithDefaults()

	s.registerHealthRoutes()
	s.registerMetricsRoutes()
	// The default workspace's services decide which routes exist; the
	// factory gives every other workspace the same kinds.
	if s.defaultWorkspace.ingest != nil {
		s.registerIngestRoutes()
	}
	s.registerAssetRoutes()
	s.registerKPIRoutes()
	s.registerBreakdownRoutes()
	s.registerCohortRoutes()
	s.registerDashboardRoutes()
	s.registerKPIPageRoutes()
	s.registerAlertRoutes()
	s.registerReportScheduleRoutes()
	s.metrics.registry.MustRegister(cfg.Collectors...)
	if s.defaultWorkspace.kpiMeta != nil {
		s.registerKPIMetaRoutes()
	}
	s.registerDashboardAPIRoutes()
	s.registerDashboardPageRoutes()
	s.registerAccountRoutes()
	s.registerAuditRoutes()
	s.registerTargetRoutes()
	s.registerTargetFormRoutes()

	s.handler = s.recoverPanics(s.logRequests(s.securityHeaders(http.HandlerFunc(s.route))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// route dispatches to the registered handler. Requests that match no route
// get Northstar's own 404 or 405 error, in JSON under /api/ and as a page
// elsewhere, instead of ServeMux's plain-text replies.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}

	// ServeMux reports "no route" and "wrong method" through the handler it
	// returns, so run that handler into a recorder to learn which it was.
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.writeError(w, r, &httpError{
			status:  http.StatusMethodNotAllowed,
			code:    "method_not_allowed",
			message: "method " + r.Method + " is not allowed on " + r.URL.Path + " (allowed: " + rec.header.Get("Allow") + ")",
		})
		return
	}
	s.writeError(w, r, notFoundPath(r))
}

// currentDefinitions returns the definitions in force in the request's
// workspace: see definitionsIn.
func (s *Server) currentDefinitions(r *http.Request) *kpi.Definitions {
	return s.definitionsIn(r.Context())
}

// definitionsIn returns the definitions in force in the workspace of ctx:
// see Server.in and workspace.currentDefinitions.
func (s *Server) definitionsIn(ctx context.Context) *kpi.Definitions {
	return s.in(ctx).currentDefinitions()
}

// headerRecorder is a ResponseWriter that keeps the status and headers and
// drops the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

func (h *headerRecorder) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}
