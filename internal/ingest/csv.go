// Package ingest turns outside data into Northstar events: it decodes,
// validates and deduplicates them before they reach the store.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
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
// CSVOptions.BatchSize is not set.
const DefaultBatchSize = 5000

// MaxReportedBadRows is the number of bad rows that CSVSummary.BadRows keeps.
// Rows after that are only counted in CSVSummary.Skipped.
const MaxReportedBadRows = 20

// PropMapping maps a CSV column to an event property.
type PropMapping struct {
	Name   string // property name
	Column string // header name of the column
	Number bool   // parse the cell as a float64 (see NumberForms); otherwise the property is a string
}

// ParsePropMapping parses a property mapping written NAME=COLUMN or
// NAME=COLUMN:number.
func ParsePropMapping(spec string) (PropMapping, error) {
	name, column, ok := strings.Cut(spec, "=")
	if !ok || name == "" || column == "" {
		return PropMapping{}, kpi.Errorf(kpi.EINVALID, "property mapping %q is not NAME=COLUMN or NAME=COLUMN:number", spec)
	}

	m := PropMapping{Name: name, Column: column}
	if i := strings.LastIndex(column, ":"); i >= 0 && column[i+1:] != "number" && isTypeName(column[i+1:]) {
		return PropMapping{}, kpi.Errorf(kpi.EINVALID, "property mapping %q: type %q is not known (want :number for numbers, or no type for text)", spec, column[i+1:])
	}
	if c, isNumber := strings.CutSuffix(column, ":number"); isNumber {
		if c == "" {
			return PropMapping{}, kpi.Errorf(kpi.EINVALID, "property mapping %q names no column before :number", spec)
		}
		m.Column, m.Number = c, true
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

// CSVOptions configures ImportCSV. Event, TimeColumn and UserColumn are required.
type CSVOptions struct {
	Event      string        // name of the event that each row records
	TimeColumn string        // column with the event's timestamp (see TimestampForms)
	UserColumn string        // column with the user's distinct ID
	Props      []PropMapping // columns copied into event properties

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
// derived from the event name, the row's cells and the number of identical rows
// before it, so importing the same file twice stores its rows once.
//
// A bad row (wrong number of fields, bad timestamp, empty user ID, bad number)
// is counted in CSVSummary.Skipped and left out. With opts.Strict, the first
// bad row instead makes ImportCSV return a kpi.EINVALID error and store
// nothing. ImportCSV returns the counts so far along with any error.
func ImportCSV(ctx context.Context, r io.Reader, opts CSVOptions, w EventWriter) (CSVSummary, error) {
	if err := opts.validate(); err != nil {
		return CSVSummary{}, err
	}
	opts.setDefaults()

	imp := &csvImport{
		opts:       opts,
		times:      timestampParser{loc: opts.Location},
		receivedAt: opts.Now().UTC(),
		progress:   newProgressLine(opts.Progress, opts.Now),
	}
	insert := newBatchInserter(w, opts.BatchSize, &imp.summary)

	var err error
	if opts.Strict {
		err = imp.importStrict(ctx, r, insert)
	} else {
		err = imp.readAll(ctx, r, "importing", insert.add)
		if err == nil {
			err = insert.flushLast(ctx)
		}
	}
	imp.progress.finish(&imp.summary, err)
	return imp.summary, err
}

// importStrict checks every row before it stores any. When r can seek, it
// reads r twice to keep memory flat. Otherwise it holds all events in memory
// between the check and the inserts.
func (imp *csvImport) importStrict(ctx context.Context, r io.Reader, insert *batchInserter) error {
	seeker, start, canSeek := seekStart(r)
	if !canSeek {
		var events []store.Event
		collect := func(_ context.Context, ev store.Event) error {
			events = append(events, ev)
			return nil
		}
		if err := imp.readAll(ctx, r, "checking", collect); err != nil {
			return err
		}

		for _, ev := range events {
			if err := insert.add(ctx, ev); err != nil {
				return err
			}
			imp.progress.update("importing", &imp.summary)
		}
		return insert.flushLast(ctx)
	}

	discard := func(context.Context, store.Event) error { return nil }
	if err := imp.readAll(ctx, r, "checking", discard); err != nil {
		return err
	}
	if _, err := seeker.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the CSV input for the import after the check: %w", err)
	}

	// NOTE: a row that changes between the two reads fails this second read,
	// after earlier batches are stored.
	if err := imp.readAll(ctx, r, "importing", insert.add); err != nil {
		return err
	}
	return insert.flushLast(ctx)
}

// seekStart returns r as an io.Seeker with its current offset, and false when
// r cannot seek (a pipe is an *os.File whose Seek fails).
func seekStart(r io.Reader) (io.Seeker, int64, bool) {
	seeker, ok := r.(io.Seeker)
	if !ok {
		return nil, 0, false
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, false
	}
	return seeker, start, true
}

func (o CSVOptions) validate() error {
	var problems []string
	if strings.TrimSpace(o.Event) == "" {
		problems = append(problems, "the event name is missing")
	}
	if o.TimeColumn == "" {
		problems = append(problems, "the time column is missing")
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

// csvImport is the state of one ImportCSV call.
type csvImport struct {
	opts       CSVOptions
	times      timestampParser
	receivedAt time.Time
	progress   *progressLine
	summary    CSVSummary

	columns csvColumns
	seen    map[[sha256.Size]byte]int32 // occurrences so far of each distinct row
}

// readAll reads the header and every data row of r, and passes each event to
// emit. It starts imp.summary afresh, so the import after a strict check
// counts each row once.
func (imp *csvImport) readAll(ctx context.Context, r io.Reader, phase string, emit func(context.Context, store.Event) error) error {
	imp.summary = CSVSummary{}
	imp.seen = map[[sha256.Size]byte]int32{}

	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a row with the wrong field count is a bad row, checked below
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return headerError(err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // the byte order mark that Excel writes

	imp.columns, err = resolveColumns(header, imp.opts)
	if err != nil {
		return err
	}

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		imp.progress.update(phase, &imp.summary)

		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			imp.summary.RowsRead++
			reason := "invalid CSV: " + parseErr.Err.Error()
			if errors.Is(parseErr.Err, csv.ErrQuote) && parseErr.Line > parseErr.StartLine {
				// An unclosed quote makes the reader take every line up to the
				// next quote, often the end of the file, as one field.
				reason = fmt.Sprintf("a quoted field that starts on this line is not closed, so lines %d to %d were read as one row and skipped; "+
					"fix the quote and import the file again (rows already imported are not added twice)", parseErr.StartLine, parseErr.Line)
			}
			if err := imp.badRow(RowError{Line: parseErr.StartLine, Reason: reason}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}

		imp.summary.RowsRead++
		line, _ := cr.FieldPos(0)
		ev, reason := imp.event(record, len(header))
		if reason != "" {
			if err := imp.badRow(RowError{Line: line, Reason: reason}); err != nil {
				return err
			}
			continue
		}

		if err := emit(ctx, ev); err != nil {
			return fmt.Errorf("store the rows up to line %d: %w", line, err)
		}
	}
}

// headerError explains why the header row could not be read.
func headerError(err error) error {
	if errors.Is(err, io.EOF) {
		return kpi.Errorf(kpi.EINVALID, "the CSV input is empty, but its first row must be a header naming the columns")
	}
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return kpi.Errorf(kpi.EINVALID, "line %d: invalid CSV header: %v", parseErr.StartLine, parseErr.Err)
	}
	return fmt.Errorf("read CSV header: %w", err)
}

// badRow counts a bad row, or in strict mode returns it as the import's error.
func (imp *csvImport) badRow(rowErr RowError) error {
	if imp.opts.Strict {
		if imp.summary.Imported == 0 {
			return kpi.Errorf(kpi.EINVALID, "%s (strict mode: nothing was imported)", rowErr.Error())
		}
		return kpi.Errorf(kpi.EINVALID, "%s (strict mode: stopped after %d rows were imported)", rowErr.Error(), imp.summary.Imported)
	}

	imp.summary.Skipped++
	if len(imp.summary.BadRows) < MaxReportedBadRows {
		imp.summary.BadRows = append(imp.summary.BadRows, rowErr)
	}
	return nil
}

// csvColumns holds the field index of each mapped column.
type csvColumns struct {
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

	cols.time = find("time column", opts.TimeColumn)
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

// event converts one data row into an event, or returns why it cannot.
func (imp *csvImport) event(record []string, fieldCount int) (store.Event, string) {
	if len(record) != fieldCount {
		fields := fmt.Sprintf("%d fields", len(record))
		if len(record) == 1 {
			fields = "1 field"
		}
		return store.Event{}, fmt.Sprintf("has %s, but the header has %d", fields, fieldCount)
	}

	timeCell := record[imp.columns.time]
	if strings.TrimSpace(timeCell) == "" {
		return store.Event{}, fmt.Sprintf("column %q is empty, but it must hold the event time", imp.opts.TimeColumn)
	}
	ts, err := imp.times.parse(timeCell)
	if errors.Is(err, errNotTimestamp) {
		return store.Event{}, fmt.Sprintf("column %q: %q is not a date or time (want %s)", imp.opts.TimeColumn, timeCell, timestampHint)
	}
	if err != nil {
		return store.Event{}, fmt.Sprintf("column %q: %q is not a valid date or time: %v", imp.opts.TimeColumn, timeCell, err)
	}

	user := strings.TrimSpace(record[imp.columns.user])
	if user == "" {
		return store.Event{}, fmt.Sprintf("column %q is empty, but it must hold the user ID", imp.opts.UserColumn)
	}
	if !utf8.ValidString(user) {
		return store.Event{}, fmt.Sprintf("column %q is not valid UTF-8; save the file as UTF-8", imp.opts.UserColumn)
	}

	props := make(map[string]any, len(imp.opts.Props))
	for i, p := range imp.opts.Props {
		cell := record[imp.columns.props[i]]
		value, reason := propertyValue(p, cell)
		if reason != "" {
			return store.Event{}, reason
		}
		if value != nil {
			props[p.Name] = value
		}
	}

	return store.Event{
		Name:       imp.opts.Event,
		DistinctID: user,
		Timestamp:  ts,
		Properties: props,
		Source:     CSVSource,
		MessageID:  imp.messageID(record),
		ReceivedAt: imp.receivedAt,
	}, ""
}

// propertyValue converts a cell for the property p. It returns nil for an
// empty cell, which leaves the property unset, or the reason the cell is bad.
func propertyValue(p PropMapping, cell string) (any, string) {
	if strings.TrimSpace(cell) == "" {
		return nil, ""
	}
	if !p.Number {
		if !utf8.ValidString(cell) {
			return nil, fmt.Sprintf("column %q is not valid UTF-8; save the file as UTF-8", p.Column)
		}
		return cell, ""
	}

	v, ok := parseNumber(cell)
	if !ok {
		return nil, fmt.Sprintf("column %q: %q is not a number (want %s)", p.Column, cell, numberHint)
	}
	return v, ""
}

// messageID returns the hex SHA-256 that identifies a row: the hash of the
// event name, the row's cells, and the row's occurrence number among identical
// rows so far. Identical rows thus get distinct IDs, and rows appended to a
// file do not change the IDs of the rows before them.
func (imp *csvImport) messageID(record []string) string {
	h := sha256.New()
	writeField(h, imp.opts.Event)
	for _, field := range record {
		writeField(h, field)
	}
	var rowKey [sha256.Size]byte
	h.Sum(rowKey[:0])

	imp.seen[rowKey]++
	occurrence := imp.seen[rowKey]

	h.Reset()
	h.Write(rowKey[:])
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(occurrence)))
	return hex.EncodeToString(h.Sum(nil))
}

// writeField writes s with its length in front, so that different rows
// cannot hash to the same bytes ("a,bc" and "ab,c").
func writeField(w io.Writer, s string) {
	w.Write(binary.AppendUvarint(nil, uint64(len(s))))
	io.WriteString(w, s)
}

// batchInserter sends events to an EventWriter in batches and adds the
// results to a summary.
type batchInserter struct {
	w       EventWriter
	size    int
	pending []store.Event
	summary *CSVSummary
}

func newBatchInserter(w EventWriter, size int, summary *CSVSummary) *batchInserter {
	return &batchInserter{w: w, size: size, summary: summary}
}

// add queues ev and inserts the queue when it holds a full batch.
func (b *batchInserter) add(ctx context.Context, ev store.Event) error {
	b.pending = append(b.pending, ev)
	if len(b.pending) < b.size {
		return nil
	}
	return b.flush(ctx)
}

// flushLast inserts the last, partial batch.
func (b *batchInserter) flushLast(ctx context.Context) error {
	if err := b.flush(ctx); err != nil {
		return fmt.Errorf("store the last rows: %w", err)
	}
	return nil
}

// flush inserts the queued events.
func (b *batchInserter) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}

	res, err := b.w.InsertEvents(ctx, b.pending)
	if err != nil {
		return err
	}
	b.summary.Imported += res.Inserted
	b.summary.Duplicates += res.Duplicates

	// Allocate a new slice, because EventWriter does not promise to drop its
	// reference to the old one.
	b.pending = make([]store.Event, 0, b.size)
	return nil
}
