package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// MeasurementWriter is the storage that a measurement import writes to.
// InsertMeasurements stores the measurements of one call in one transaction.
// It stores no measurement whose (Source, MessageID) is already stored, and
// counts each such measurement as a duplicate.
type MeasurementWriter interface {
	InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error)
}

// DimensionMapping maps a CSV column to a measurement dimension.
type DimensionMapping struct {
	Name   string // dimension name, such as channel
	Column string // header name of the column
}

// ParseDimensionMapping parses a dimension mapping written NAME=COLUMN.
func ParseDimensionMapping(spec string) (DimensionMapping, error) {
	name, column, ok := strings.Cut(spec, "=")
	if !ok || strings.TrimSpace(name) == "" || column == "" {
		return DimensionMapping{}, kpi.Errorf(kpi.EINVALID, "dimension mapping %q is not NAME=COLUMN", spec)
	}
	if strings.Contains(name, `"`) {
		return DimensionMapping{}, kpi.Errorf(kpi.EINVALID, "dimension mapping %q: the name contains a double quote, which dimension names may not", spec)
	}
	return DimensionMapping{Name: name, Column: column}, nil
}

// MeasurementCSVOptions configures ImportMeasurementsCSV. Series, TimeColumn
// and ValueColumn are required.
type MeasurementCSVOptions struct {
	Series      string             // name of the series that each row adds a value to
	TimeColumn  string             // column with the measurement's timestamp (see TimestampForms)
	ValueColumn string             // column with the value (see NumberForms)
	Dimensions  []DimensionMapping // columns stored as dimensions, such as the ad channel

	// Strict makes the first bad row abort the import before any row is
	// stored. Without it, bad rows are reported and skipped.
	Strict bool

	Location  *time.Location   // zone of timestamps without an offset; nil means UTC
	BatchSize int              // measurements per InsertMeasurements call; 0 means DefaultBatchSize
	Progress  io.Writer        // terminal for a progress line during long imports; nil for none
	Now       func() time.Time // clock for progress; nil means time.Now
}

// ImportMeasurementsCSV reads CSV with a header row from r and stores one
// measurement of opts.Series per data row through w. Columns, bad rows,
// strict mode and deduplication work as in ImportCSV: each measurement gets
// Source CSVSource and a MessageID derived from the series, the row's cells
// and the number of identical rows before it. A bad row has the wrong number
// of fields, a bad timestamp, or an empty or bad value. Dimensions are
// stored as text without surrounding spaces, and an empty cell leaves its
// dimension unset.
func ImportMeasurementsCSV(ctx context.Context, r io.Reader, opts MeasurementCSVOptions, w MeasurementWriter) (CSVSummary, error) {
	if err := opts.validate(); err != nil {
		return CSVSummary{}, err
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	rows := &measurementRows{opts: opts, times: timestampParser{loc: opts.Location}}
	return importCSVRows(ctx, r, rows, opts.Strict, opts.BatchSize, newProgressLine(opts.Progress, opts.Now), w.InsertMeasurements)
}

func (o MeasurementCSVOptions) validate() error {
	var problems []string
	if strings.TrimSpace(o.Series) == "" {
		problems = append(problems, "the series name is missing")
	}
	if o.TimeColumn == "" {
		problems = append(problems, "the time column is missing")
	}
	if o.ValueColumn == "" {
		problems = append(problems, "the value column is missing")
	}

	names := map[string]bool{}
	for _, d := range o.Dimensions {
		switch {
		case d.Name == "":
			problems = append(problems, fmt.Sprintf("the dimension for column %q has no name", d.Column))
		case d.Column == "":
			problems = append(problems, fmt.Sprintf("dimension %q has no column", d.Name))
		case names[d.Name]:
			problems = append(problems, fmt.Sprintf("dimension %q is mapped twice", d.Name))
		}
		names[d.Name] = true
	}

	if len(problems) > 0 {
		return kpi.Errorf(kpi.EINVALID, "invalid measurement import options: %s", strings.Join(problems, "; "))
	}
	return nil
}

// measurementRows converts the rows of one ImportMeasurementsCSV call into
// measurements.
type measurementRows struct {
	opts  MeasurementCSVOptions
	times timestampParser
	ids   rowIDs

	timeColumn, valueColumn int
	dimensionColumns        []int // parallel to opts.Dimensions
}

func (rows *measurementRows) resolve(header []string) error {
	rows.ids.reset()
	rows.dimensionColumns = rows.dimensionColumns[:0]

	var problems []string
	find := func(role, name string) int {
		i, problem := findColumn(header, name)
		if problem != "" {
			problems = append(problems, fmt.Sprintf("%s %q %s", role, name, problem))
		}
		return i
	}
	rows.timeColumn = find("time column", rows.opts.TimeColumn)
	rows.valueColumn = find("value column", rows.opts.ValueColumn)
	for _, d := range rows.opts.Dimensions {
		rows.dimensionColumns = append(rows.dimensionColumns, find(fmt.Sprintf("column of dimension %q,", d.Name), d.Column))
	}

	if len(problems) > 0 {
		return kpi.Errorf(kpi.EINVALID, "%s; the header has %s", strings.Join(problems, "; "), describeHeader(header))
	}
	return nil
}

func (rows *measurementRows) convert(record []string) (store.Measurement, string) {
	timeCell := record[rows.timeColumn]
	if strings.TrimSpace(timeCell) == "" {
		return store.Measurement{}, fmt.Sprintf("column %q is empty, but it must hold the time of the measurement", rows.opts.TimeColumn)
	}
	ts, err := rows.times.parse(timeCell)
	if errors.Is(err, errNotTimestamp) {
		return store.Measurement{}, fmt.Sprintf("column %q: %q is not a date or time (want %s)", rows.opts.TimeColumn, timeCell, timestampHint)
	}
	if err != nil {
		return store.Measurement{}, fmt.Sprintf("column %q: %q is not a valid date or time: %v", rows.opts.TimeColumn, timeCell, err)
	}

	valueCell := record[rows.valueColumn]
	if strings.TrimSpace(valueCell) == "" {
		return store.Measurement{}, fmt.Sprintf("column %q is empty, but it must hold the value", rows.opts.ValueColumn)
	}
	value, ok := parseNumber(valueCell)
	if !ok {
		return store.Measurement{}, fmt.Sprintf("column %q: %q is not a number (want %s)", rows.opts.ValueColumn, valueCell, numberHint)
	}

	var dims map[string]string
	for i, d := range rows.opts.Dimensions {
		cell := strings.TrimSpace(record[rows.dimensionColumns[i]])
		if cell == "" {
			continue
		}
		if !utf8.ValidString(cell) {
			return store.Measurement{}, fmt.Sprintf("column %q is not valid UTF-8; save the file as UTF-8", d.Column)
		}
		if dims == nil {
			dims = make(map[string]string, len(rows.opts.Dimensions))
		}
		dims[d.Name] = cell
	}

	return store.Measurement{
		Series:     rows.opts.Series,
		Timestamp:  ts.UTC(),
		Value:      value,
		Dimensions: dims,
		Source:     CSVSource,
		MessageID:  rows.ids.next(rows.opts.Series, record),
	}, ""
}
