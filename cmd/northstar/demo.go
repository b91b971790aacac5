package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	_ "modernc.org/sqlite" // the "sqlite" driver, to inspect an existing file read-only

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/demo"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// demoBatchSize is the number of events inserted per transaction.
const demoBatchSize = 10_000

// demoOptions are the flags of `northstar demo`.
type demoOptions struct {
	dbPath    string
	addr      string
	logFormat string
	days      int
	seed      int64
	noServe   bool
	force     bool
	now       func() time.Time
}

func newDemoCmd(g *globals) *cobra.Command {
	opts := demoOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "demo [--db PATH] [--addr HOST:PORT] [--days N] [--seed N] [--no-serve] [--force]",
		Short: "Generate a year of sample product data and serve its dashboard",
		Long: `Generate plausible data for a made-up SaaS product into a new database,
write a KPI file for it, and serve the dashboard, so that one command shows
what Northstar does.

The data covers --days whole days up to yesterday in Europe/Berlin: about
4,000 users who sign up (more each month), start sessions, use features, buy
subscriptions and add-ons, and churn. The same --seed gives the same data.
The KPI file is written next to the database, named after it with the
extension .kpis.yaml (northstar-demo.kpis.yaml for the default database), and
its baselines and targets are dated relative to today.

The database must not exist yet. --force deletes an existing database and
KPI file first, but only a database that holds demo data alone: any other
file is left in place and the command fails.

Unless --no-serve is given, the dashboard is then served as by northstar
serve, until Ctrl+C.`,
		Example: `  northstar demo
  northstar demo --no-serve --db /tmp/demo.db --days 90
  northstar demo --force --seed 7 --addr 127.0.0.1:9000`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unexpected argument %q (demo takes only flags)", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, opts)
		},
	}

	// This --db has its own default and shadows the global --db, so that the
	// demo never writes into the database that NORTHSTAR_DB names.
	cmd.Flags().StringVar(&opts.dbPath, "db", "northstar-demo.db", "database file to create for the demo data")
	cmd.Flags().StringVar(&opts.addr, "addr", defaultAddr, "address to serve the dashboard on, as HOST:PORT")
	cmd.Flags().IntVar(&opts.days, "days", 365, fmt.Sprintf("number of days of data, from 1 to %d", demo.MaxDays))
	cmd.Flags().Int64Var(&opts.seed, "seed", 1, "seed of the random generator; the same seed gives the same data")
	cmd.Flags().BoolVar(&opts.noServe, "no-serve", false, "generate the data and the KPI file, then exit without serving")
	cmd.Flags().BoolVar(&opts.force, "force", false, "delete an existing demo database and KPI file first")
	cmd.Flags().StringVar(&opts.logFormat, "log-format", envOr("NORTHSTAR_LOG_FORMAT", "text"), "log format on stderr while serving: text or json (env NORTHSTAR_LOG_FORMAT)")
	return cmd
}

// runDemo creates the demo database and KPI file, then serves them unless
// opts.noServe is set.
func runDemo(ctx context.Context, g *globals, opts demoOptions) error {
	if opts.days < 1 || opts.days > demo.MaxDays {
		return &usageError{fmt.Errorf("--days %d is out of range (want 1 to %d)", opts.days, demo.MaxDays)}
	}
	if strings.TrimSpace(opts.dbPath) == "" {
		return &usageError{errors.New("--db is empty (give the path of the database file to create)")}
	}
	logger, err := newLogger(g.stderr, opts.logFormat)
	if err != nil {
		return err
	}
	kpiPath := demoKPIPath(opts.dbPath)

	if err := prepareDemoFiles(ctx, opts.dbPath, kpiPath, opts.force); err != nil {
		return err
	}

	end := demo.End(opts.now())
	kpiFile := demo.KPIFile(end)
	defs, err := kpi.Parse(kpiPath, kpiFile)
	if err != nil {
		return fmt.Errorf("the embedded demo KPI file is invalid: %w", err)
	}
	if err := os.WriteFile(kpiPath, kpiFile, 0o644); err != nil {
		return kpi.Errorf(kpi.EINVALID, "writing the KPI file %s failed: %v (check that its directory exists and is writable)", kpiPath, err)
	}

	fmt.Fprintf(g.stdout, "Generating %d days of demo data into %s ...\n", opts.days, opts.dbPath)
	stats, err := writeDemoEvents(ctx, opts.dbPath, opts.seed, opts.days, end)
	if err != nil {
		// Remove the partial files, so that the next run needs no --force.
		if removeErr := removeDemoFiles(opts.dbPath, kpiPath); removeErr != nil {
			return errors.Join(err, removeErr)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("demo stopped before the data was complete; removed %s and %s", opts.dbPath, kpiPath)
		}
		return err
	}

	last := demo.End(end.Add(-time.Nanosecond)) // midnight of the last day
	fmt.Fprintf(g.stdout, "Wrote %s events of %s users, %s to %s, in %s (generating and inserting; %s of it inserting).\n",
		groupThousands(stats.events), groupThousands(stats.users),
		timegrain.DateOf(demo.Start(opts.days, end)), timegrain.DateOf(last),
		stats.total.Round(100*time.Millisecond), stats.insert.Round(100*time.Millisecond))
	fmt.Fprintf(g.stdout, "Wrote the KPI file %s with %d KPIs.\n", kpiPath, len(defs.KPIs))

	password, err := createDemoAdmin(ctx, opts.dbPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Created the demo admin account. Sign in with\n  e-mail:   %s\n  password: %s\n"+
		"(shown only now; create more accounts with northstar users create --db %s)\n", demoAdminEmail, password, opts.dbPath)

	if opts.noServe {
		fmt.Fprintf(g.stdout, "Serve the dashboard with:\n  northstar serve --db %s --kpis %s\n", opts.dbPath, kpiPath)
		return nil
	}
	m := &Main{Addr: opts.addr, DBPath: opts.dbPath, KPIPath: kpiPath, Logger: logger}
	return serveUntilDone(ctx, m, g.stdout)
}

// demoAdminEmail is the e-mail address of the demo's admin account.
const demoAdminEmail = "admin@demo.example.com"

// createDemoAdmin creates the demo's admin account with a random password
// in the database at dbPath and returns the password.
func createDemoAdmin(ctx context.Context, dbPath string) (string, error) {
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate the demo password: %w", err)
	}
	password := base64.RawURLEncoding.EncodeToString(raw) // 16 characters

	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return "", err
	}
	defer db.Close()
	accounts := auth.NewStore(db.SQL(), auth.SQLite, nil)
	if _, err := accounts.CreateAccount(ctx, demoAdminEmail, password, auth.DefaultWorkspaceID, auth.RoleAdmin, cliActor); err != nil {
		return "", fmt.Errorf("create the demo admin account: %w", err)
	}
	return password, nil
}

// demoKPIPath returns the path of the KPI file that goes with the demo
// database dbPath: the same name with the extension .kpis.yaml.
func demoKPIPath(dbPath string) string {
	return strings.TrimSuffix(dbPath, filepath.Ext(dbPath)) + ".kpis.yaml"
}

// prepareDemoFiles makes sure that neither dbPath nor kpiPath exists. With
// force it deletes them, but only when dbPath is absent or a demo database.
func prepareDemoFiles(ctx context.Context, dbPath, kpiPath string, force bool) error {
	for _, path := range []string{dbPath, kpiPath} {
		info, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return kpi.Errorf(kpi.EINVALID, "checking %s failed: %v", path, err)
		case info.IsDir():
			return kpi.Errorf(kpi.EINVALID, "%s is a directory; pass --db with the path of a file to create", path)
		case !force:
			return kpi.Errorf(kpi.EINVALID, "%s already exists; pass --force to replace it with new demo data, or choose another path with --db", path)
		}
	}
	if !force {
		return nil
	}

	if _, err := os.Stat(dbPath); err == nil {
		if err := checkDemoDatabase(ctx, dbPath); err != nil {
			return err
		}
	}
	return removeDemoFiles(dbPath, kpiPath)
}

// checkDemoDatabase returns an EINVALID error unless the file at path is a
// Northstar database whose events all come from the demo. It opens the file
// read-only, so it never changes the file.
func checkDemoDatabase(ctx context.Context, path string) error {
	reject := func(reason string) error {
		return kpi.Errorf(kpi.EINVALID, "%s is not a demo database (%s); --force replaces only demo databases, so delete it yourself or choose another path with --db", path, reason)
	}

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return reject(err.Error())
	}
	defer db.Close()

	var others int64
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE source <> ?`, demo.Source).Scan(&others)
	switch {
	case err != nil:
		return reject(fmt.Sprintf("reading its events failed: %v", err))
	case others > 0:
		return reject(fmt.Sprintf("it contains %d events from other sources", others))
	}
	return nil
}

// removeDemoFiles deletes the demo database with its SQLite journal files,
// and the KPI file. Files that do not exist are skipped.
func removeDemoFiles(dbPath, kpiPath string) error {
	var errs []error
	for _, path := range []string{dbPath, dbPath + "-wal", dbPath + "-shm", kpiPath} {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return kpi.Errorf(kpi.EINVALID, "deleting the old demo files failed: %v", err)
	}
	return nil
}

// demoStats describes one generation of demo data.
type demoStats struct {
	events int
	users  int
	total  time.Duration // generating and inserting
	insert time.Duration // inserting alone
}

// eventInserter is the part of the store that writeDemoEvents uses.
type eventInserter interface {
	InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error)
}

var _ eventInserter = (*sqlite.DB)(nil)

// writeDemoEvents creates the database at dbPath and fills it with the demo
// events, demoBatchSize events per transaction.
func writeDemoEvents(ctx context.Context, dbPath string, seed int64, days int, end time.Time) (demoStats, error) {
	started := time.Now()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return demoStats{}, err
	}

	stats, err := insertDemoEvents(ctx, db, seed, days, end)
	if closeErr := db.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("close database %s: %w", dbPath, closeErr)
	}
	stats.total = time.Since(started)
	return stats, err
}

func insertDemoEvents(ctx context.Context, db eventInserter, seed int64, days int, end time.Time) (demoStats, error) {
	var (
		stats demoStats
		batch []store.Event
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		t := time.Now()
		res, err := db.InsertEvents(ctx, batch)
		stats.insert += time.Since(t)
		if err != nil {
			return fmt.Errorf("insert demo events: %w", err)
		}
		if res.Duplicates > 0 {
			return fmt.Errorf("insert demo events: %d of %d were duplicates of stored events, so the database was not new", res.Duplicates, len(batch))
		}
		stats.events += res.Inserted
		batch = batch[:0]
		return nil
	}

	err := demo.Stream(seed, days, end, func(events []store.Event) error {
		for _, e := range events {
			if e.Name == "signup" {
				stats.users++
			}
		}
		batch = append(batch, events...)
		if len(batch) < demoBatchSize {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	return stats, err
}

// groupThousands formats n with commas between groups of three digits.
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + groupThousands(-n)
	}
	var sb strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			sb.WriteByte(',')
		}
		sb.WriteRune(c)
	}
	return sb.String()
}
