package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/ingest"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

const importMeasurementsHelp = `Import one measurement per data row of a CSV file into the database (--db).

A measurement is a value of a series that does not come from events: the ad
spend of a day, the headcount at a date, the revenue a billing system reports
for a month. KPIs use a series with kind: measurement, summed over a period
(aggregate: sum, for a flow such as spend) or taking its last value
(aggregate: last, for a level such as headcount).

The first row must be a header. --time, --value and the columns of --dim are
header names, matched exactly or, failing that, ignoring case and surrounding
spaces. If a column is missing, the command lists the header and imports
nothing.

Timestamps take the forms that import csv accepts (see northstar import csv
--help); a date alone is midnight in --time-zone. Values are numbers written
as for a :number property of import csv: an optional sign, a leading $, € or
£, and commas between groups of three digits. Dimensions are stored as text
without surrounding spaces; an empty cell leaves the dimension unset.

A row with the wrong number of fields, a bad timestamp, or an empty or bad
value is a bad row. Bad rows are skipped and reported with their line number
(the first 20 are listed), and the other rows are imported. With --strict, the
first bad row stops the command before anything is imported.

Each row is identified by the series name, its cells and how many identical
rows come before it in the file. Importing the same file again skips the rows
already imported and counts them as duplicates.`

func newImportMeasurementsCmd(g *globals) *cobra.Command {
	var (
		series, timeColumn, valueColumn, zoneName string
		dimSpecs                                  []string
		strict                                    bool
	)
	cmd := &cobra.Command{
		Use:                   "measurements FILE --series NAME --time COLUMN --value COLUMN [--dim NAME=COLUMN]... [--time-zone ZONE] [--strict] [--db PATH]",
		Short:                 "Import one measurement per row of a CSV file",
		Long:                  importMeasurementsHelp,
		DisableFlagsInUseLine: true,
		Example: `  northstar import measurements ad-spend.csv --series ad_spend \
      --time date --value spend --dim channel=channel`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("import measurements takes one FILE, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := measurementImportOptions(series, timeColumn, valueColumn, zoneName, dimSpecs)
			if err != nil {
				return err
			}
			opts.Strict = strict
			if isTerminal(g.stderr) {
				opts.Progress = g.stderr
			}
			return runImportMeasurements(cmd.Context(), g, args[0], opts)
		},
	}

	f := cmd.Flags()
	f.StringVar(&series, "series", "", "`NAME` of the series, such as ad_spend, that each row adds a value to (required)")
	f.StringVar(&timeColumn, "time", "", "header name of the `COLUMN` with the time of the measurement (required)")
	f.StringVar(&valueColumn, "value", "", "header name of the `COLUMN` with the value (required)")
	f.StringArrayVar(&dimSpecs, "dim", nil, "store a column as a dimension of the measurement, written `NAME=COLUMN`, such as channel=Channel (repeatable)")
	f.BoolVar(&strict, "strict", false, "stop at the first bad row and import nothing, instead of skipping bad rows")
	f.StringVar(&zoneName, "time-zone", "UTC", "IANA time `ZONE`, such as Europe/Berlin, of timestamps without an offset")
	return cmd
}

// measurementImportOptions checks the flags of import measurements and
// converts them to options.
func measurementImportOptions(series, timeColumn, valueColumn, zoneName string, dimSpecs []string) (ingest.MeasurementCSVOptions, error) {
	var missing []string
	for _, f := range []struct{ flag, value string }{
		{"--series NAME", series},
		{"--time COLUMN", timeColumn},
		{"--value COLUMN", valueColumn},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return ingest.MeasurementCSVOptions{}, &usageError{fmt.Errorf("missing required flags: %s", strings.Join(missing, ", "))}
	}

	var dims []ingest.DimensionMapping
	for _, spec := range dimSpecs {
		d, err := ingest.ParseDimensionMapping(spec)
		if err != nil {
			return ingest.MeasurementCSVOptions{}, &usageError{fmt.Errorf("invalid --dim: %s", kpi.ErrorMessage(err))}
		}
		dims = append(dims, d)
	}

	loc, err := time.LoadLocation(zoneName)
	if err != nil {
		return ingest.MeasurementCSVOptions{}, &usageError{fmt.Errorf("--time-zone %q is not a known time zone (want an IANA name such as Europe/Berlin, or UTC)", zoneName)}
	}

	return ingest.MeasurementCSVOptions{
		Series:      series,
		TimeColumn:  timeColumn,
		ValueColumn: valueColumn,
		Dimensions:  dims,
		Location:    loc,
		Now:         time.Now,
	}, nil
}

// runImportMeasurements imports the CSV file at path and prints the summary.
func runImportMeasurements(ctx context.Context, g *globals, path string, opts ingest.MeasurementCSVOptions) error {
	file, err := openInputFile(path)
	if err != nil {
		return err
	}
	defer file.Close()

	measurements := &lazyMeasurementStore{lazyEventStore{path: g.dbPath}}
	summary, err := ingest.ImportMeasurementsCSV(ctx, file, opts, measurements)
	if closeErr := measurements.Close(); err == nil && closeErr != nil {
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

// lazyMeasurementStore opens the database at the first insert, as
// lazyEventStore does, so that an import that stops early creates no file.
type lazyMeasurementStore struct {
	lazyEventStore
}

var _ ingest.MeasurementWriter = (*lazyMeasurementStore)(nil)

// InsertMeasurements opens the database if needed and inserts measurements
// into it.
func (s *lazyMeasurementStore) InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error) {
	if s.db == nil {
		db, err := sqlite.Open(ctx, s.path)
		if err != nil {
			return store.InsertResult{}, err
		}
		s.db = db
	}
	return s.db.InsertMeasurements(ctx, measurements)
}
