package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	_ "time/tzdata" // lets --time-zone work on systems without a zoneinfo database

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/ingest"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/web"
)

func newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FORMAT FILE [flags]",
		Short: "Import events or measurements from a file",
		Long: "Import data from a file into the database: events from CSV (northstar import csv --help), " +
			"or measurements such as daily ad spend from CSV (northstar import measurements --help).",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name the format to import, as in northstar import csv FILE")}
			}
			return &usageError{fmt.Errorf("unknown import format %q (want csv, or measurements for a CSV file of measurements)", args[0])}
		},
	}
	cmd.AddCommand(newImportCSVCmd(g), newImportMeasurementsCmd(g))
	return cmd
}

const importCSVHelp = `Import one event per data row of a CSV file into the database (--db).

The first row must be a header. --time, --user, --event-column and the
columns of --prop are header names, matched exactly or, failing that,
ignoring case and surrounding spaces. If a column is missing, the command
lists the header and imports nothing.

Every row records the event --event NAME, or, in a file of several events,
the event named in the row's --event-column COLUMN (an empty cell is a bad
row).

Accepted timestamps (surrounding spaces are ignored):
  2009-01-11                    a date alone is midnight in --time-zone
  2009-01-11 14:03[:05[.123]]   a date and time, with a space or a T between
  2009-01-11T14:03:05Z          with an offset (Z, +01:00, +0100 or +01), which
                                takes precedence over --time-zone
  1/11/2009 [14:03[:05]]        US order, month first; also 2:03 PM
  2009/1/11 [14:03[:05]]        year first
  11.01.2009 [14:03[:05]]       European order, day first
  1231632180                    Unix seconds (9 or 10 digits), or milliseconds
                                (12 or 13 digits)
Timestamps are stored in UTC.

A :number property is stored as a number. It may have a sign, a leading $, €
or £, and commas between groups of three digits; the decimal separator is a
point, so "12,5" is a bad row and not 125. A :score property is a number
from 0 to 10 inclusive, such as the answer to a Net Promoter Score question;
a score of 11 or -1 is a bad row. Other properties are stored as text. An
empty cell leaves the property unset. The user ID is stored without
surrounding spaces.

A row with the wrong number of fields, a bad timestamp, an empty user ID, a
bad number or a score outside 0 to 10 is a bad row. Bad rows are skipped and
reported with their line number (the first 20 are listed), and the other rows
are imported. With --strict, the first bad row stops the command before
anything is imported.

The exit code is 0 when the import finished, bad rows skipped included, 2
for bad flags, a missing column or a bad row with --strict, 1 when storing
failed, and 130 when the import was interrupted (Ctrl-C). The rows stored
before an error or an interruption are kept, and running the same import
again skips them and imports the rest.

Each row is identified by its event time, the event name, its cells and how
many identical rows come before it in the file. Importing the same file
again, or the file with rows appended, skips the rows already imported and
counts them as duplicates. Two identical rows in one file are both
imported. A re-import with other --user or --prop flags does not change the
rows that are already stored, and neither does another --time-zone: a row
is identified by its time as written. A re-import that gives a row another
time, with another --time column or --at, stores it again as a new event.

A file without a time column, such as a survey export or a customer
snapshot, takes --at TIMESTAMP in place of --time: every row gets that time.

With --kpis FILE, the import also adds the rows to the activity index of
that KPI file as it stores them, and saves the index at the end, so that
the server and reports start without reading every event again. Without
it, they build the index when they next start.`

func newImportCSVCmd(g *globals) *cobra.Command {
	var (
		eventName, eventColumn, timeColumn, userColumn, zoneName, at string
		propSpecs                                                    []string
		strict                                                       bool
		kpiPath                                                      string
		profilePath                                                  string
	)
	cmd := &cobra.Command{
		Use:   "csv FILE (--event NAME | --event-column COLUMN) (--time COLUMN | --at TIMESTAMP) --user COLUMN [--prop NAME=COLUMN[:number|:score]]... [--strict] [--time-zone ZONE] [--db PATH]",
		Short: "Import one event per row of a CSV file",
		Long:  importCSVHelp,
		// The Use line lists every flag already.
		DisableFlagsInUseLine: true,
		Example: `  northstar import csv relay-foods-orders.csv --event order_placed \
      --time OrderDate --user UserId --prop revenue=TotalCharges:number
  northstar import csv survey.csv --event nps_response \
      --time SubmittedAt --user RespondentId --prop score=Rating:score
  northstar import csv events.csv --event-column event --time timestamp \
      --user distinct_id --prop plan=plan --prop amount=amount:number
  northstar import csv airline-ratings.csv --event nps_response \
      --at 2024-06-30 --user CustomerID --prop score="Likelihood to recommend:score"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("import csv takes one FILE, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var defs *kpi.Definitions
			if kpiPath != "" {
				var err error
				if defs, err = kpi.LoadFile(kpiPath); err != nil {
					return err
				}
				// Local dates then count in the workspace's time zone,
				// like the KPIs themselves.
				if loc := defs.Workspace.Location; loc != nil && !cmd.Flags().Changed("time-zone") {
					zoneName = loc.String()
				}
			}
			opts, err := csvImportOptions(eventName, eventColumn, timeColumn, userColumn, zoneName, at, propSpecs)
			if err != nil {
				return err
			}
			opts.Strict = strict
			if isTerminal(g.stderr) {
				opts.Progress = g.stderr
			}
			if profilePath != "" {
				stop, err := startCPUProfile(profilePath)
				if err != nil {
					return err
				}
				defer stop()
			}
			return runImportCSV(cmd.Context(), g, args[0], opts, defs)
		},
	}

	f := cmd.Flags()
	f.StringVar(&eventName, "event", "", "`NAME` of the event that each row records (required unless --event-column is given)")
	f.StringVar(&eventColumn, "event-column", "", "header name of the `COLUMN` with each row's event name, for a file of several events")
	f.StringVar(&timeColumn, "time", "", "header name of the `COLUMN` with the event time (required unless --at is given)")
	f.StringVar(&at, "at", "", "one `TIMESTAMP` for every row, for a file without a time column (read in --time-zone)")
	f.StringVar(&userColumn, "user", "", "header name of the `COLUMN` with the user ID (required)")
	f.StringArrayVar(&propSpecs, "prop", nil, "store a column as an event property, written `NAME=COLUMN[:number|:score]`; :number stores it as a number, "+
		":score as a number from 0 to 10 (repeatable)")
	f.BoolVar(&strict, "strict", false, "stop at the first bad row and import nothing, instead of skipping bad rows")
	f.StringVar(&zoneName, "time-zone", "UTC", "IANA time `ZONE`, such as Europe/Berlin, of timestamps without an offset (default: the KPI file's time zone with --kpis, otherwise UTC)")
	f.StringVar(&kpiPath, "kpis", "", "KPI definitions `FILE` whose activity index the import keeps up to date as it stores rows, and whose time zone --time-zone defaults to (optional)")
	f.StringVar(&profilePath, "cpuprofile", "", "write a CPU profile of the import to this `FILE`, for go tool pprof")
	return cmd
}

// csvImportOptions checks the flags of import csv and converts them to options.
func csvImportOptions(eventName, eventColumn, timeColumn, userColumn, zoneName, at string, propSpecs []string) (ingest.CSVOptions, error) {
	if eventName != "" && eventColumn != "" {
		return ingest.CSVOptions{}, &usageError{fmt.Errorf("--event and --event-column both give the event name; pass one")}
	}
	eventFlag := struct{ flag, value string }{"--event NAME", eventName}
	if eventColumn != "" {
		eventFlag = struct{ flag, value string }{"--event-column COLUMN", eventColumn}
	}
	if timeColumn != "" && at != "" {
		return ingest.CSVOptions{}, &usageError{fmt.Errorf("--time and --at both give the event time; pass one")}
	}
	timeFlag := struct{ flag, value string }{"--time COLUMN", timeColumn}
	if at != "" {
		timeFlag = struct{ flag, value string }{"--at TIMESTAMP", at}
	}

	var missing []string
	for _, f := range []struct{ flag, value string }{
		eventFlag,
		timeFlag,
		{"--user COLUMN", userColumn},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return ingest.CSVOptions{}, &usageError{fmt.Errorf("missing required flags: %s", strings.Join(missing, ", "))}
	}

	var props []ingest.PropMapping
	for _, spec := range propSpecs {
		p, err := ingest.ParsePropMapping(spec)
		if err != nil {
			return ingest.CSVOptions{}, &usageError{fmt.Errorf("invalid --prop: %s", kpi.ErrorMessage(err))}
		}
		props = append(props, p)
	}

	loc, err := time.LoadLocation(zoneName)
	if err != nil {
		return ingest.CSVOptions{}, &usageError{fmt.Errorf("--time-zone %q is not a known time zone (want an IANA name such as Europe/Berlin, or UTC)", zoneName)}
	}

	var fixed time.Time
	if at != "" {
		if fixed, err = ingest.ParseTimestamp(at, loc); err != nil {
			return ingest.CSVOptions{}, &usageError{fmt.Errorf("--at: %v", err)}
		}
	}

	return ingest.CSVOptions{
		Event:       eventName,
		EventColumn: eventColumn,
		TimeColumn:  timeColumn,
		FixedTime:   fixed,
		UserColumn:  userColumn,
		Props:       props,
		Location:    loc,
		Now:         time.Now,
	}, nil
}

// runImportCSV imports the CSV file at path and prints the summary. With
// defs, it adds the events to the activity index of defs as it goes.
func runImportCSV(ctx context.Context, g *globals, path string, opts ingest.CSVOptions, defs *kpi.Definitions) error {
	file, err := openInputFile(path)
	if err != nil {
		return err
	}
	defer file.Close()

	events := &lazyEventStore{path: g.dbPath, defs: defs, stderr: g.stderr}
	summary, err := ingest.ImportCSV(ctx, file, opts, events)
	if closeErr := events.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("close database %s: %w", g.dbPath, closeErr)
	}

	for _, row := range summary.BadRows {
		fmt.Fprintf(g.stderr, "skipped %s\n", row)
	}
	if more := summary.Skipped - len(summary.BadRows); more > 0 {
		fmt.Fprintf(g.stderr, "skipped %d more bad rows\n", more)
	}

	if err != nil {
		if summary.Imported > 0 {
			reason := "the error"
			if errors.Is(err, context.Canceled) {
				reason = "the interruption"
			}
			fmt.Fprintf(g.stderr, "%d rows were imported before %s; running the same import again skips them as duplicates\n", summary.Imported, reason)
		}
		return err
	}

	fmt.Fprintf(g.stdout, "%s: %d rows read, %d imported, %d duplicates, %d skipped\n",
		filepath.Base(path), summary.RowsRead, summary.Imported, summary.Duplicates, summary.Skipped)
	return nil
}

// openInputFile opens the file to import, with errors that name it.
func openInputFile(path string) (*os.File, error) {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, kpi.Errorf(kpi.ENOTFOUND, "file %s does not exist", path)
	}
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "cannot open %s: %v", path, err)
	}

	info, err := file.Stat()
	if err == nil && info.IsDir() {
		file.Close()
		return nil, kpi.Errorf(kpi.EINVALID, "%s is a directory; name a CSV file", path)
	}
	return file, nil
}

// isTerminal reports whether w is a terminal, or another character device
// such as /dev/null. The import writes its progress line only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// lazyEventStore opens the database at the first insert, so that an import
// that stops at the header, or at a bad row with --strict, creates no
// database file. With defs, it opens the activity index of defs with the
// database and adds each batch to it.
type lazyEventStore struct {
	path   string
	defs   *kpi.Definitions
	stderr io.Writer
	db     appStore

	// userIndex is the store whose (user_id) index of events the import
	// builds at Close, or nil.
	userIndex deferredUserIndex
}

// deferredUserIndex is a store that can build the (user_id) index of events
// once after a bulk import into an empty database, instead of row by row
// (the SQLite store).
type deferredUserIndex interface {
	DeferUserIndex(ctx context.Context) (bool, error)
	RestoreUserIndex(ctx context.Context) error
}

var _ ingest.EventWriter = (*lazyEventStore)(nil)

// InsertEvents opens the database if needed and inserts events into it.
func (s *lazyEventStore) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	if s.db == nil {
		db, err := s.open(ctx)
		if err != nil {
			return store.InsertResult{}, err
		}
		s.db = db
	}
	return s.db.InsertEvents(ctx, events)
}

// open opens the database and, with defs, its activity index.
func (s *lazyEventStore) open(ctx context.Context) (appStore, error) {
	db, err := openStore(ctx, s.path)
	if err != nil {
		return nil, err
	}
	if d, ok := db.(deferredUserIndex); ok {
		deferred, err := d.DeferUserIndex(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if deferred {
			s.userIndex = d
		}
	}
	if s.defs == nil {
		return db, nil
	}

	// The index declares what the server's does, KPIs made in the UI
	// included, so that the server loads it instead of rebuilding it.
	logger := slog.New(slog.NewTextHandler(s.stderr, nil))
	meta, _ := db.(web.KPIMetaStore)
	indexDefs, err := withStoredKPIs(ctx, s.defs, meta, time.Now())
	if err == nil {
		var ix *engine.ActivityIndex
		if ix, err = openIndex(ctx, db, indexDefs, logger); err == nil {
			return newIndexedStore(db, ix, logger), nil
		}
	}
	db.Close()
	return nil, err
}

// Close builds the index that open deferred, if any, updates the planner
// statistics of a store that keeps them (PostgreSQL), so that queries right
// after a large import are planned for its rows, and closes the database.
// It does nothing if the database was never opened.
func (s *lazyEventStore) Close() error {
	if s.db == nil {
		return nil
	}
	if s.userIndex != nil {
		// Without the cancelled context of an interrupted import, because
		// the rows stored so far need the index too.
		if err := s.userIndex.RestoreUserIndex(context.Background()); err != nil {
			s.db.Close()
			return err
		}
	}
	if a, ok := unwrapStore(s.db).(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(context.Background()); err != nil {
			s.db.Close()
			return err
		}
	}
	return s.db.Close()
}
