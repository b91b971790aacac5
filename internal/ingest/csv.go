// Package ingest turns outside data into Northstar events: it decodes,
// validates and deduplicates them before they reach the store.
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

// EventWriter is the storage that an import writes to. InsertEvents stores the
// events of one call in one transaction. It stores no event whose (Source,
// MessageID) is already stored, and counts each such event as a duplicate.
type EventWriter interface {
	InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error)
}

// CSVSource is the store.Event Source of events imported from CSV files.
const CSVSource = "csv"

// DefaultBatchSize is the number of events per InsertEvents call when
// CSVOptions.BatchSize is not set. Each call is one transaction, whose
// commit writes every page it changed, so a larger batch writes the pages
// that many rows share once. Importing 1M generated events took 24 s of CPU
// time at 50,000 and 32 s at 5,000 (2 cores, docs/benchmarks.md).
const DefaultBatchSize = 50_000

// MaxReportedBadRows is the number of bad rows that CSVSummary.BadRows keeps.
// Rows after that are only counted in CSVSummary.Skipped.
const MaxReportedBadRows = 20

// PropMapping maps a CSV column to an event property.
type PropMapping struct {
	Name   string // property name
	Column string // header name of the column
	Number bool   // parse the cell as a float64 (see NumberForms); otherwise the property is a string

	// Score parses the cell as a number, like Number, and also makes a row
	// bad unless the number is from MinScore to MaxScore: an answer to a
	// 0–10 survey question such as Net Promoter Score's.
	Score bool
}

// Bounds of a :score property, inclusive.
const (
	MinScore = 0
	MaxScore = 10
)

// ParsePropMapping parses a property mapping written NAME=COLUMN,
// NAME=COLUMN:number or NAME=COLUMN:score.
func ParsePropMapping(spec string) (PropMapping, error) {
	name, column, ok := strings.Cut(spec, "=")
	if !ok || name == "" || column == "" {
		return PropMapping{}, kpi.Errorf(kpi.EINVALID, "property mapping %q is not NAME=COLUMN, NAME=COLUMN:number or NAME=COLUMN:score", spec)
	}

	m := PropMapping{Name: name, Column: column}
	if i := strings.LastIndex(column, ":"); i >= 0 && column[i+1:] != "number" && column[i+1:] != "score" && isTypeName(column[i+1:]) {
		return PropMapping{}, kpi.Errorf(kpi.EINVALID,
			"property mapping %q: type %q is not known (want :number for numbers, :score for 0–10 scores, or no type for text)", spec, column[i+1:])
	}
	for _, typ := range []string{"number", "score"} {
		c, typed := strings.CutSuffix(column, ":"+typ)
		if !typed {
			continue
		}
		if c == "" {
			return PropMapping{}, kpi.Errorf(kpi.EINVALID, "property mapping %q names no column before :%s", spec, typ)
		}
		m.Column = c
		m.Number, m.Score = typ == "number", typ == "score"
	}
	return m, nil
}

// isTypeName reports whether s looks like a type written after a column name
// (float, int, text), as opposed to the rest of a column name with a colon.
func isTypeName(s string) bool {
	switch strings.ToLower(s) {
	case "float", "int", "integer", "decimal", "double", "num", "numeric", "string", "text", "str", "bool", "boolean", "date", "time":
		return true
	}
	return false
}

// CSVOptions configures ImportCSV. UserColumn is required, exactly one of
// Event and EventColumn, and exactly one of TimeColumn and FixedTime.
type CSVOptions struct {
	Event       string        // name of the event that each row records
	EventColumn string        // column with each row's event name, for files of several events
	TimeColumn  string        // column with the event's timestamp (see TimestampForms)
	FixedTime   time.Time     // the time of every event, for files without a time column (a survey, a snapshot)
	UserColumn  string        // column with the user's distinct ID
	Props       []PropMapping // columns copied into event properties

	// Strict makes the first bad row abort the import before any row is
	// stored. Without it, bad rows are reported and skipped.
	Strict bool

	Location  *time.Location   // zone of timestamps without an offset; nil means UTC
	BatchSize int              // events per InsertEvents call; 0 means DefaultBatchSize
	Progress  io.Writer        // terminal for a progress line during long imports; nil for none
	Now       func() time.Time // clock for ReceivedAt and progress; nil means time.Now
}

// CSVSummary counts what an import did.
type CSVSummary struct {
	RowsRead   int        // data rows read, bad ones included, the header excluded
	Imported   int        // events stored
	Duplicates int        // events not stored because an earlier import stored them
	Skipped    int        // bad rows
	BadRows    []RowError // the first MaxReportedBadRows bad rows
}

// RowError is a data row that could not be turned into an event.
type RowError struct {
	Line   int // line where the row starts, counting the header as line 1
	Reason string
}

// Error returns the reason with its line number.
func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ImportCSV reads CSV with a header row from r and stores one event per data
// row through w, in batches of opts.BatchSize events.
//
// Columns are found by their header name, first exactly and then ignoring case
// and surrounding spaces. A missing column is a kpi.EINVALID error, returned
// before any row is read. Each event gets Source CSVSource and a MessageID
// derived from the event time, the event name, the row's cells and the number
// of identical rows before it, so importing the same file twice stores its
// rows once.
//
// A bad row (wrong number of fields, bad timestamp, empty user ID, bad number,
// score outside 0–10) is counted in CSVSummary.Skipped and left out. With
// opts.Strict, the first bad row instead makes ImportCSV return a
// kpi.EINVALID error and store nothing. ImportCSV returns the counts so far
// along with any error.
func ImportCSV(ctx context.Context, r io.Reader, opts CSVOptions, w EventWriter) (CSVSummary, error) {
	if err := opts.validate(); err != nil {
		return CSVSummary{}, err
	}
	opts.setDefaults()

	rows := &eventRows{
		opts:       opts,
		times:      timestampParser{loc: opts.Location},
		receivedAt: opts.Now().UTC(),
	}
	return importCSVRows(ctx, r, rows, opts.Strict, opts.BatchSize,
		newProgressLine(opts.Progress, opts.Now), w.InsertEvents)
}

func (o CSVOptions) validate() error {
	var problems []string
	switch {
	case strings.TrimSpace(o.Event) == "" && o.EventColumn == "":
		problems = append(problems, "the event name is missing (or give the column of each row's event name)")
	case strings.TrimSpace(o.Event) != "" && o.EventColumn != "":
		problems = append(problems, "both an event name and an event column are given; give one")
	}
	switch {
	case o.TimeColumn == "" && o.FixedTime.IsZero():
		problems = append(problems, "the time column is missing (or give one time for every row)")
	case o.TimeColumn != "" && !o.FixedTime.IsZero():
		problems = append(problems, "both a time column and a fixed time are given; give one")
	}
	if o.UserColumn == "" {
		problems = append(problems, "the user column is missing")
	}

	names := map[string]bool{}
	for _, p := range o.Props {
		switch {
		case p.Name == "":
			problems = append(problems, fmt.Sprintf("the property for column %q has no name", p.Column))
		case p.Column == "":
			problems = append(problems, fmt.Sprintf("property %q has no column", p.Name))
		case names[p.Name]:
			problems = append(problems, fmt.Sprintf("property %q is mapped twice", p.Name))
		}
		names[p.Name] = true
	}

	if len(problems) > 0 {
		return kpi.Errorf(kpi.EINVALID, "invalid CSV import options: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (o *CSVOptions) setDefaults() {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// eventRows converts the rows of one ImportCSV call into events.
type eventRows struct {
	opts       CSVOptions
	times      timestampParser
	receivedAt time.Time
	columns    csvColumns
	ids        rowIDs
}

func (rows *eventRows) resolve(header []string) error {
	rows.ids.reset()
	var err error
	rows.columns, err = resolveColumns(header, rows.opts)
	return err
}

// csvColumns holds the field index of each mapped column.
type csvColumns struct {
	event int // -1 when every row is CSVOptions.Event
	time  int
	user  int
	props []int // parallel to CSVOptions.Props
}

// resolveColumns finds the mapped columns in the header. It returns one
// kpi.EINVALID error that lists every column it cannot find, with the header.
func resolveColumns(header []string, opts CSVOptions) (csvColumns, error) {
	var cols csvColumns
	var problems []string
	find := func(role, name string) int {
		i, problem := findColumn(header, name)
		if problem != "" {
			problems = append(problems, fmt.Sprintf("%s %q %s", role, name, problem))
		}
		return i
	}

	cols.event = -1
	if opts.EventColumn != "" {
		cols.event = find("event column", opts.EventColumn)
	}
	cols.time = -1
	if opts.TimeColumn != "" {
		cols.time = find("time column", opts.TimeColumn)
	}
	cols.user = find("user column", opts.UserColumn)
	for _, p := range opts.Props {
		cols.props = append(cols.props, find(fmt.Sprintf("column of property %q,", p.Name), p.Column))
	}

	if len(problems) > 0 {
		return csvColumns{}, kpi.Errorf(kpi.EINVALID, "%s; the header has %s", strings.Join(problems, "; "), describeHeader(header))
	}
	return cols, nil
}

// findColumn returns the index of the column named name, matched exactly and
// then ignoring case and surrounding spaces. Otherwise it returns what is wrong.
func findColumn(header []string, name string) (int, string) {
	exact := []int{}
	folded := []int{}
	for i, h := range header {
		if h == name {
			exact = append(exact, i)
		}
		if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(name)) {
			folded = append(folded, i)
		}
	}

	switch {
	case len(exact) == 1:
		return exact[0], ""
	case len(exact) > 1:
		return -1, fmt.Sprintf("appears %d times in the header", len(exact))
	case len(folded) == 1:
		return folded[0], ""
	case len(folded) > 1:
		return -1, fmt.Sprintf("matches %d columns when case is ignored; give the exact name", len(folded))
	}
	return -1, "is not in the header"
}

// describeHeader lists the header's column names, at most 30 of them.
func describeHeader(header []string) string {
	const maxListed = 30

	quoted := make([]string, 0, min(len(header), maxListed))
	for _, h := range header[:min(len(header), maxListed)] {
		quoted = append(quoted, fmt.Sprintf("%q", h))
	}
	text := fmt.Sprintf("%d columns: %s", len(header), strings.Join(quoted, ", "))
	if len(header) > maxListed {
		text += fmt.Sprintf(" and %d more", len(header)-maxListed)
	}
	return text
}

// convert converts one data row into an event, or returns why it cannot.
func (rows *eventRows) convert(record []string) (store.Event, string) {
	if rows.columns.time < 0 {
		return rows.convertAt(record, rows.opts.FixedTime)
	}

	timeCell := record[rows.columns.time]
	if strings.TrimSpace(timeCell) == "" {
		return store.Event{}, fmt.Sprintf("column %q is empty, but it must hold the event time", rows.opts.TimeColumn)
	}
	ts, err := rows.times.parse(timeCell)
	if errors.Is(err, errNotTimestamp) {
		return store.Event{}, fmt.Sprintf("column %q: %q is not a date or time (want %s)", rows.opts.TimeColumn, timeCell, timestampHint)
	}
	if err != nil {
		return store.Event{}, fmt.Sprintf("column %q: %q is not a valid date or time: %v", rows.opts.TimeColumn, timeCell, err)
	}

	return rows.convertAt(record, ts)
}

// convertAt converts one data row into an event at ts, or returns why it
// cannot. ts is in the location its cell was read in (see
// timestampParser.parse), so that the message ID can start with the clock
// time written in the cell.
func (rows *eventRows) convertAt(record []string, ts time.Time) (store.Event, string) {
	name := rows.opts.Event
	if rows.columns.event >= 0 {
		name = strings.TrimSpace(record[rows.columns.event])
		if name == "" {
			return store.Event{}, fmt.Sprintf("column %q is empty, but it must hold the event name", rows.opts.EventColumn)
		}
		if !utf8.ValidString(name) {
			return store.Event{}, fmt.Sprintf("column %q is not valid UTF-8; save the file as UTF-8", rows.opts.EventColumn)
		}
	}

	user := strings.TrimSpace(record[rows.columns.user])
	if user == "" {
		return store.Event{}, fmt.Sprintf("column %q is empty, but it must hold the user ID", rows.opts.UserColumn)
	}
	if !utf8.ValidString(user) {
		return store.Event{}, fmt.Sprintf("column %q is not valid UTF-8; save the file as UTF-8", rows.opts.UserColumn)
	}

	props := make(map[string]any, len(rows.opts.Props))
	for i, p := range rows.opts.Props {
		cell := record[rows.columns.props[i]]
		value, reason := propertyValue(p, cell)
		if reason != "" {
			return store.Event{}, reason
		}
		if value != nil {
			props[p.Name] = value
		}
	}

	return store.Event{
		Name:       name,
		DistinctID: user,
		Timestamp:  ts.UTC(),
		Properties: props,
		Source:     CSVSource,
		MessageID:  rows.ids.nextEvent(wallClockMicros(ts), name, record),
		ReceivedAt: rows.receivedAt,
	}, ""
}

// propertyValue converts a cell for the property p. It returns nil for an
// empty cell, which leaves the property unset, or the reason the cell is bad.
func propertyValue(p PropMapping, cell string) (any, string) {
	if strings.TrimSpace(cell) == "" {
		return nil, ""
	}
	if !p.Number && !p.Score {
		if !utf8.ValidString(cell) {
			return nil, fmt.Sprintf("column %q is not valid UTF-8; save the file as UTF-8", p.Column)
		}
		return cell, ""
	}

	v, ok := parseNumber(cell)
	switch {
	case !ok && p.Score:
		return nil, fmt.Sprintf("column %q: %q is not a number (want a score from %d to %d)", p.Column, cell, MinScore, MaxScore)
	case !ok:
		return nil, fmt.Sprintf("column %q: %q is not a number (want %s)", p.Column, cell, numberHint)
	case p.Score && (v < MinScore || v > MaxScore):
		return nil, fmt.Sprintf("column %q: score %s is outside the range %d to %d", p.Column, strings.TrimSpace(cell), MinScore, MaxScore)
	}
	return v, ""
}
