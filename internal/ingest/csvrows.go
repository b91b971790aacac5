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

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// rowConverter turns the data rows of a CSV input into records of type T,
// such as events or measurements.
type rowConverter[T any] interface {
	// resolve finds the converter's columns in the header. It is called at
	// the start of every read of the input, so it also resets what the
	// converter remembers between rows.
	resolve(header []string) error

	// convert returns the record of a data row that has as many fields as
	// the header, or the reason the row is bad.
	convert(record []string) (T, string)
}

// csvRun is the state of one import of CSV rows as records of type T.
type csvRun[T any] struct {
	conv     rowConverter[T]
	strict   bool
	progress *progressLine
	summary  CSVSummary
	batches  *batchInserter[T]
}

// importCSVRows reads CSV with a header row from r, converts each data row
// with conv, and stores the records through insert in batches of batchSize.
// Bad rows are skipped and counted, or, with strict, the first one stops the
// import before any record is stored. It returns the counts so far along
// with any error.
//
// insert runs on another goroutine than the reader, one call at a time and
// in file order, and no call is running when importCSVRows returns.
func importCSVRows[T any](ctx context.Context, r io.Reader, conv rowConverter[T], strict bool, batchSize int,
	progress *progressLine, insert func(context.Context, []T) (store.InsertResult, error)) (CSVSummary, error) {
	run := &csvRun[T]{conv: conv, strict: strict, progress: progress}
	batches := startBatchInserter(ctx, insert, batchSize, &run.summary)
	run.batches = batches

	var err error
	if strict {
		err = run.importStrict(ctx, r, batches)
	} else {
		err = run.readAll(ctx, r, "importing", batches.add)
		if err == nil {
			err = batches.flushLast()
		}
	}

	// Without pipelining, a failed insert would have stopped the import
	// before the reader went on, so its error wins over what the reader
	// found later.
	if insertErr := batches.wait(); insertErr != nil {
		err = insertErr
	}
	run.progress.finish(&run.summary, err)
	return run.summary, err
}

// importStrict checks every row before it stores any. When r can seek, it
// reads r twice to keep memory flat. Otherwise it holds all records in memory
// between the check and the inserts.
func (run *csvRun[T]) importStrict(ctx context.Context, r io.Reader, insert *batchInserter[T]) error {
	seeker, start, canSeek := seekStart(r)
	if !canSeek {
		var records []T
		collect := func(rec T, _ int) error {
			records = append(records, rec)
			return nil
		}
		if err := run.readAll(ctx, r, "checking", collect); err != nil {
			return err
		}

		for _, rec := range records {
			if err := insert.add(rec, 0); err != nil {
				return err
			}
			run.progress.update("importing", &run.summary)
		}
		return insert.flushLast()
	}

	discard := func(T, int) error { return nil }
	if err := run.readAll(ctx, r, "checking", discard); err != nil {
		return err
	}
	if _, err := seeker.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the CSV input for the import after the check: %w", err)
	}

	// NOTE: a row that changes between the two reads fails this second read,
	// after earlier batches are stored.
	if err := run.readAll(ctx, r, "importing", insert.add); err != nil {
		return err
	}
	return insert.flushLast()
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

// readAll reads the header and every data row of r, and passes each record
// to emit with the line where its row starts. It starts run.summary afresh,
// so the import after a strict check counts each row once.
func (run *csvRun[T]) readAll(ctx context.Context, r io.Reader, phase string, emit func(rec T, line int) error) error {
	run.summary = CSVSummary{}

	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a row with the wrong field count is a bad row, checked below
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return headerError(err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // the byte order mark that Excel writes

	if err := run.conv.resolve(header); err != nil {
		return err
	}

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		run.progress.update(phase, &run.summary)

		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			run.summary.RowsRead++
			reason := "invalid CSV: " + parseErr.Err.Error()
			if errors.Is(parseErr.Err, csv.ErrQuote) && parseErr.Line > parseErr.StartLine {
				// An unclosed quote makes the reader take every line up to the
				// next quote, often the end of the file, as one field.
				reason = fmt.Sprintf("a quoted field that starts on this line is not closed, so lines %d to %d were read as one row and skipped; "+
					"fix the quote and import the file again (rows already imported are not added twice)", parseErr.StartLine, parseErr.Line)
			}
			if err := run.badRow(RowError{Line: parseErr.StartLine, Reason: reason}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}

		run.summary.RowsRead++
		line, _ := cr.FieldPos(0)
		var (
			rec    T
			reason string
		)
		if len(record) != len(header) {
			reason = fieldCountReason(len(record), len(header))
		} else {
			rec, reason = run.conv.convert(record)
		}
		if reason != "" {
			if err := run.badRow(RowError{Line: line, Reason: reason}); err != nil {
				return err
			}
			continue
		}

		if err := emit(rec, line); err != nil {
			return err
		}
	}
}

// fieldCountReason explains a row whose field count differs from the header's.
func fieldCountReason(fields, headerFields int) string {
	text := fmt.Sprintf("%d fields", fields)
	if fields == 1 {
		text = "1 field"
	}
	return fmt.Sprintf("has %s, but the header has %d", text, headerFields)
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
func (run *csvRun[T]) badRow(rowErr RowError) error {
	if run.strict {
		// The count of imported rows must include the batches still being
		// inserted, and a failed insert among them is the import's error.
		if err := run.batches.wait(); err != nil {
			return err
		}
		if run.summary.Imported == 0 {
			return kpi.Errorf(kpi.EINVALID, "%s (strict mode: nothing was imported)", rowErr.Error())
		}
		return kpi.Errorf(kpi.EINVALID, "%s (strict mode: stopped after %d rows were imported)", rowErr.Error(), run.summary.Imported)
	}

	run.summary.Skipped++
	if len(run.summary.BadRows) < MaxReportedBadRows {
		run.summary.BadRows = append(run.summary.BadRows, rowErr)
	}
	return nil
}

// rowIDs derives the message ID of each row from its content.
type rowIDs struct {
	// seen counts the occurrences so far of each distinct row, by the first
	// 8 bytes of the row's SHA-256, which take less memory than all 32. Two
	// rows that share those bytes (a chance of about 3 in a million at 10M
	// distinct rows) share a count. Their IDs still come out the same on
	// every read of the file, so deduplication holds.
	seen map[uint64]uint32

	buf []byte // the fields of the row being hashed
}

// reset clears the occurrence counts, for a new read of the input.
func (ids *rowIDs) reset() { ids.seen = map[uint64]uint32{} }

// next returns the hex SHA-256 that identifies a row: the hash of name (the
// event name or measurement series), the row's cells, and the row's
// occurrence number among identical rows so far. Identical rows thus get
// distinct IDs, and rows appended to a file do not change the IDs of the
// rows before them.
func (ids *rowIDs) next(name string, record []string) string {
	sum := ids.sum(name, record)
	return hex.EncodeToString(sum[:])
}

// nextEvent returns the message ID of an event row whose time reads wall
// (see wallClockMicros): wall as 16 hex digits (two's complement before
// 1970), followed by the first 32 hex digits (128 bits) of the ID that next
// returns.
//
// The time comes first so that the IDs of a file sorted by time increase,
// and the store's unique (workspace_id, source, message_id) index takes them
// near its end instead of at random places. At 10M rows that index
// outgrows the page cache, and random inserts made the import read and
// write most of its pages at every commit. It is the time as written, not
// the instant, so that importing a file again with another --time-zone
// finds the rows it stored before instead of storing them twice.
func (ids *rowIDs) nextEvent(wall int64, name string, record []string) string {
	sum := ids.sum(name, record)
	id := make([]byte, 0, eventIDLength)
	id = binary.BigEndian.AppendUint64(id, uint64(wall))
	id = append(id, sum[:16]...)
	return hex.EncodeToString(id)
}

// wallClockMicros returns the clock time of t in its own location, counted
// in microseconds from 1970-01-01 00:00 as if that clock were UTC: the same
// number for "2024-03-01 10:00" read in any time zone.
func wallClockMicros(t time.Time) int64 {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC).UnixMicro()
}

// eventIDLength is the length of the message IDs from rowIDs.nextEvent, in
// hex digits.
const eventIDLength = 2 * (8 + 16)

// sum returns the SHA-256 of the row's content and occurrence number, and
// counts the occurrence.
func (ids *rowIDs) sum(name string, record []string) [sha256.Size]byte {
	// The fields go through one reused buffer, in the form writeField
	// writes, so BenchmarkRowIDsNextEvent makes 4 allocations per row
	// instead of 18 when each field went to the hash on its own.
	buf := appendField(ids.buf[:0], name)
	for _, field := range record {
		buf = appendField(buf, field)
	}
	ids.buf = buf
	rowKey := sha256.Sum256(buf)

	key := binary.BigEndian.Uint64(rowKey[:8])
	ids.seen[key]++
	occurrence := ids.seen[key]

	var keyed [sha256.Size + 4]byte
	copy(keyed[:], rowKey[:])
	binary.BigEndian.PutUint32(keyed[sha256.Size:], occurrence)
	return sha256.Sum256(keyed[:])
}

// appendField appends s with its length in front, as writeField writes it.
func appendField(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// writeField writes s with its length in front, so that different rows
// cannot hash to the same bytes ("a,bc" and "ab,c").
func writeField(w io.Writer, s string) {
	w.Write(binary.AppendUvarint(nil, uint64(len(s))))
	io.WriteString(w, s)
}
