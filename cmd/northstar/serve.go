package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/scheduler"
	"github.com/northstar-kpi/northstar/internal/web"
)

// defaultAddr is the address `northstar serve` listens on unless --addr is
// set: the loopback interface only, so that a first run is not exposed.
const defaultAddr = "127.0.0.1:8080"

// defaultShutdownTimeout bounds how long Close waits for requests in flight.
const defaultShutdownTimeout = 10 * time.Second

func newServeCmd(g *globals) *cobra.Command {
	var (
		addr, kpiPath, logFormat string
		secureCookies            bool
		smtp                     smtpFlags
	)
	cmd := &cobra.Command{
		Use:   "serve --kpis FILE [--addr HOST:PORT] [--db PATH]",
		Short: "Serve the dashboard and the JSON API over HTTP",
		Long: `Serve the dashboard at / and the JSON API under /api/v1/ for the KPIs of
the KPI file, computed from the events in the database.

Everything but /healthz, /readyz, the assets, the sign-in page and the
ingestion endpoints (which take write keys) needs a signed-in account or an
API token: create the first account with northstar users create. The
server listens on 127.0.0.1:8080 unless --addr says otherwise. Serve other
machines over HTTPS (behind a proxy that terminates TLS, with
--secure-cookies), because passwords and session cookies cross the network.
Port 0 picks a free port; the address in use is printed at start. The KPI file is read once at start: restart the
server after changing it. Ctrl+C (SIGINT) or SIGTERM stops the server after
the requests in flight finish, waiting at most 10 seconds.

The server also runs the scheduler: it evaluates alert rules every minute,
sends scheduled reports on their cron schedules, and e-mails review
reminders daily at 09:00, all in the workspace time zone. E-mail needs
--smtp-addr and --smtp-from; the SMTP password is read from
NORTHSTAR_SMTP_PASSWORD. See docs/alerts.md.`,
		Example: `  northstar serve --kpis kpis.yaml
  northstar serve --kpis examples/relay-foods/kpis.yaml --db relay.db --addr 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kpiPath == "" {
				return &usageError{errors.New("--kpis FILE is required (or set NORTHSTAR_KPIS)")}
			}
			logger, err := newLogger(g.stderr, logFormat)
			if err != nil {
				return err
			}

			mailer, err := smtp.mailer()
			if err != nil {
				return err
			}

			m := &Main{Addr: addr, DBPath: g.dbPath, KPIPath: kpiPath, Logger: logger, SecureCookies: secureCookies, Mailer: mailer}
			return serveUntilDone(cmd.Context(), m, g.stdout)
		},
	}

	cmd.Flags().StringVar(&addr, "addr", envOr("NORTHSTAR_ADDR", defaultAddr), "address to listen on, as HOST:PORT (env NORTHSTAR_ADDR)")
	cmd.Flags().StringVar(&kpiPath, "kpis", os.Getenv("NORTHSTAR_KPIS"), "KPI definitions file in YAML (env NORTHSTAR_KPIS)")
	cmd.Flags().BoolVar(&secureCookies, "secure-cookies", os.Getenv("NORTHSTAR_SECURE_COOKIES") == "true",
		"mark the session cookie Secure also on plain HTTP requests, behind a proxy that terminates TLS (env NORTHSTAR_SECURE_COOKIES=true)")
	cmd.Flags().StringVar(&logFormat, "log-format", envOr("NORTHSTAR_LOG_FORMAT", "text"), "log format on stderr: text or json (env NORTHSTAR_LOG_FORMAT)")
	addSMTPFlags(cmd, &smtp)
	return cmd
}

// serveUntilDone runs m until ctx is cancelled or the server fails, then
// closes it.
func serveUntilDone(ctx context.Context, m *Main, stdout io.Writer) error {
	if err := m.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Northstar is serving %s (press Ctrl+C to stop)\n", m.URL())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-m.Done():
	}
	return errors.Join(serveErr, m.Close())
}

// newLogger returns a slog logger writing to w in the named format.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, &usageError{fmt.Errorf("--log-format %q is not valid (want text or json)", format)}
}

// envOr returns the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Main is the `northstar serve` process: it opens the store, loads the KPI
// definitions and serves HTTP. Run starts it and Close stops it. Tests and
// `northstar demo` use it the same way.
type Main struct {
	Addr    string // HOST:PORT to listen on, where port 0 picks a free port
	DBPath  string // SQLite database file, created if missing, or a postgres:// URL
	KPIPath string // KPI definitions file in YAML

	// Definitions, when not nil, is used instead of loading KPIPath.
	Definitions *kpi.Definitions

	Now    func() time.Time // the clock for periods and statuses, or nil for time.Now
	Logger *slog.Logger     // nil discards the logs

	// ShutdownTimeout bounds how long Close waits for requests in flight.
	// Zero means 10 seconds.
	ShutdownTimeout time.Duration

	// SecureCookies marks the session cookie Secure on plain HTTP requests
	// too, for a server behind a proxy that terminates TLS.
	SecureCookies bool

	// Mailer sends alert and report e-mail; nil records e-mail deliveries
	// as failed.
	Mailer *notify.Mailer

	// NoScheduler, when set, starts no scheduler, for tests that run
	// jobs themselves with Scheduler().RunDue.
	NoScheduler bool

	db        appStore
	auth      *auth.Store
	closeAuth func() error
	listener  net.Listener
	server    *http.Server
	serveErr  chan error

	scheduler  *scheduler.Scheduler
	stopJobs   func()
	workspaces *workspaceRegistry
}

// Run opens the database, loads the KPI file, starts listening and serves in
// the background. It returns once the server accepts connections, or with
// the first error, after releasing what it opened.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	now := m.Now
	if now == nil {
		now = time.Now
	}
	addr := m.Addr
	if addr == "" {
		addr = defaultAddr
	}

	defs := m.Definitions
	if defs == nil {
		if m.KPIPath == "" {
			return kpi.Errorf(kpi.EINVALID, "no KPI file given (set --kpis FILE)")
		}
		if defs, err = kpi.LoadFile(m.KPIPath); err != nil {
			return err
		}
	}

	m.db, err = openStore(ctx, m.DBPath)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.db.Close()
			m.db = nil
		}
	}()

	m.auth, m.closeAuth, err = openAuthStore(m.db, now)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.closeAuth()
		}
	}()

	// The index declares the properties of the KPIs made in the UI too, so
	// that they are computed from it after a restart.
	meta, _ := m.db.(web.KPIMetaStore)
	indexDefs, err := withStoredKPIs(ctx, defs, meta, now())
	if err != nil {
		return err
	}
	ix, err := openIndex(ctx, m.db, indexDefs, m.Logger)
	if err != nil {
		return err
	}
	base := m.db
	indexed := &indexedStore{appStore: m.db, index: ix, logger: m.Logger, lastSaved: time.Now()}
	m.db = indexed

	var lc net.ListenConfig
	m.listener, err = lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another address with --addr)", addr, err)
	}

	// Alert rules and reports see the KPIs made in the UI too, through the
	// server's view of the definitions, which is set before any job runs.
	m.workspaces = &workspaceRegistry{
		base: base, auth: m.auth, mailer: m.Mailer, baseURL: m.URL, now: now, logger: m.Logger,
		byID: map[int64]*registryEntry{},
	}
	defaultWS := &workspaceState{
		id:          auth.DefaultWorkspaceID,
		db:          indexed,
		definitions: func() *kpi.Definitions { return defs },
		series:      engine.NewWithIndex(indexed, ix, now).WithHistory(indexed),
	}
	defaultWS.alerts = newWorkspaceAlerts(indexed, m.workspaces.definitionsOf(auth.DefaultWorkspaceID, defs), defaultWS.series, m.Mailer, m.URL(), now, m.Logger)
	m.workspaces.byID[auth.DefaultWorkspaceID] = &registryEntry{ws: defaultWS}

	m.scheduler, err = newAlertScheduler(m.workspaces, defs.Workspace.Location, now, m.Logger)
	if err != nil {
		m.listener.Close()
		return err
	}

	// TODO: reload the KPI file when it changes. Until then it is read once.
	// The KPI file's KPIs belong to the default workspace.
	svc := defaultWS.webServices()
	handler := web.NewServer(web.Config{
		Definitions:   svc.Definitions,
		Series:        svc.Series,
		Ingest:        svc.Ingest,
		Logger:        m.Logger,
		Now:           now,
		KPIMeta:       svc.KPIMeta,
		Dashboards:    svc.Dashboards,
		Auth:          m.auth,
		SecureCookies: m.SecureCookies,
		Targets:       svc.Targets,
		Alerts:        svc.Alerts,
		Reports:       svc.Reports,
		Collectors:    m.scheduler.Collectors(),
		Workspaces:    m.workspaces.webFactory(),
	})
	m.workspaces.definitionsIn = handler.WorkspaceDefinitions

	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.server.RegisterOnShutdown(handler.CloseStreams) // open dashboards would hold Shutdown until its timeout
	srv, ln, serveErr, logger := m.server, m.listener, make(chan error, 1), m.Logger
	m.serveErr = serveErr
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("server failed", slog.String("addr", ln.Addr().String()), slog.Any("error", err))
			serveErr <- fmt.Errorf("serve HTTP on %s: %w", ln.Addr(), err)
		}
		close(serveErr)
	}()

	if !m.NoScheduler {
		m.startScheduler(m.scheduler)
	}

	m.Logger.Info("server started", slog.String("url", m.URL()), slog.String("db", displayDSN(m.DBPath)),
		slog.String("kpis", defs.Path), slog.Int("kpi_count", len(defs.KPIs)))
	if !isLoopback(m.listener.Addr()) && !m.SecureCookies {
		m.Logger.Warn("the server listens beyond this machine over plain HTTP: passwords and session cookies cross the network unencrypted; "+
			"serve it behind a proxy that terminates TLS and pass --secure-cookies",
			slog.String("addr", m.listener.Addr().String()))
	}
	return nil
}

// Auth returns the account store of the running server, or nil before Run
// succeeds.
func (m *Main) Auth() *auth.Store { return m.auth }

// URL returns the base URL of the running server, such as
// http://127.0.0.1:8080. It returns "" before Run succeeds.
func (m *Main) URL() string {
	if m.listener == nil {
		return ""
	}
	addr, ok := m.listener.Addr().(*net.TCPAddr)
	if !ok {
		return "http://" + m.listener.Addr().String()
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost" // listening on every interface, so this one works too
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Scheduler returns the scheduler of alert evaluation and reports, or nil
// before Run succeeds.
func (m *Main) Scheduler() *scheduler.Scheduler { return m.scheduler }

// Done returns a channel that receives the error if serving fails, and is
// closed when the server stops. It returns nil before Run succeeds.
func (m *Main) Done() <-chan error { return m.serveErr }

// Close stops accepting connections, waits for requests in flight (at most
// ShutdownTimeout) and closes the database. It may be called more than once.
func (m *Main) Close() error {
	if m.server == nil && m.db == nil {
		return nil // never started, or already closed
	}

	var errs []error
	if m.server != nil {
		timeout := m.ShutdownTimeout
		if timeout <= 0 {
			timeout = defaultShutdownTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()

		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down the HTTP server: %w", err))
		}
		m.server = nil
	}
	// Jobs use the database, so they stop before it closes.
	m.stopScheduler()
	if m.closeAuth != nil {
		if err := m.closeAuth(); err != nil {
			errs = append(errs, fmt.Errorf("close account store: %w", err))
		}
		m.closeAuth, m.auth = nil, nil
	}
	if m.workspaces != nil {
		m.workspaces.saveIndexes()
		m.workspaces = nil
	}
	if m.db != nil {
		if err := m.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database %s: %w", m.DBPath, err))
		}
		m.db = nil
	}

	err := errors.Join(errs...)
	if err != nil {
		m.Logger.Error("server stopped with errors", slog.Any("error", err))
	} else {
		m.Logger.Info("server stopped")
	}
	return err
}

// isLoopback reports whether addr is on the loopback interface.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
