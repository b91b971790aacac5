package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/northstar-kpi/northstar/internal/store"
)

// insertQueueLength is the number of full batches that wait for the insert
// goroutine while it stores another one. One is enough for the reader to
// convert the next batch during an insert. More would only hold more rows
// in memory, because the inserts are the slower side.
const insertQueueLength = 1

// batchInserter sends records to a store in batches and adds the results to
// a summary. The caller's goroutine reads and converts rows while an insert
// goroutine stores the batches one at a time, in the order they were added,
// so that reading and inserting overlap.
//
// Only run executes on the insert goroutine. The other methods run on the
// caller's goroutine, which alone reads and writes the summary.
type batchInserter[T any] struct {
	insert  func(context.Context, []T) (store.InsertResult, error)
	size    int
	summary *CSVSummary

	pending     []T
	pendingLine int // line where the last row in pending starts, or 0

	queue   chan insertBatch[T]
	results chan insertOutcome
	stopped bool
	err     error // the first failed insert, wrapped with its lines
}

// insertBatch is a batch on its way to the insert goroutine.
type insertBatch[T any] struct {
	records []T
	line    int  // line where the batch's last row starts, or 0 when the rows are not read from the input now
	last    bool // the final, partial batch of the import
	read    readCounts
}

// insertOutcome is the result of inserting one batch.
type insertOutcome struct {
	result store.InsertResult
	err    error
	read   readCounts
}

// readCounts are the reader's counts when a batch was queued. After a failed
// insert, the summary goes back to them, so that it reports the rows read up
// to the failed batch, as an import that stores each batch before it reads
// on would.
type readCounts struct {
	rowsRead int
	skipped  int
	badRows  int
}

// startBatchInserter starts the goroutine that stores batches of size
// records through insert with ctx. The caller must call wait before it
// reads summary for the last time.
func startBatchInserter[T any](ctx context.Context, insert func(context.Context, []T) (store.InsertResult, error),
	size int, summary *CSVSummary) *batchInserter[T] {
	b := &batchInserter[T]{
		insert:  insert,
		size:    size,
		summary: summary,
		queue:   make(chan insertBatch[T], insertQueueLength),
		results: make(chan insertOutcome, insertQueueLength+1),
	}
	go b.run(ctx)
	return b
}

// run inserts the queued batches in order until the queue is closed. After
// a failed insert it drops the batches behind it, because the import stops.
func (b *batchInserter[T]) run(ctx context.Context) {
	defer close(b.results)

	failed := false
	for batch := range b.queue {
		if failed {
			continue
		}
		var (
			res store.InsertResult
			err = ctx.Err() // a cancelled import stores no batch that is still queued
		)
		if err == nil {
			res, err = b.insert(ctx, batch.records)
		}
		if err != nil {
			failed = true
			err = batch.wrap(err)
		}
		b.results <- insertOutcome{result: res, err: err, read: batch.read}
	}
}

// wrap names the rows of a batch whose insert failed.
func (batch insertBatch[T]) wrap(err error) error {
	switch {
	case batch.last:
		return fmt.Errorf("store the last rows: %w", err)
	case batch.line > 0:
		return fmt.Errorf("store the rows up to line %d: %w", batch.line, err)
	}
	return err
}

// add queues rec, from the row that starts at line (0 when the row is not
// being read now), and sends the queue to be inserted when it holds a full
// batch. It returns the error of an earlier batch whose insert failed.
func (b *batchInserter[T]) add(rec T, line int) error {
	b.pending = append(b.pending, rec)
	b.pendingLine = line
	if len(b.pending) < b.size {
		return nil
	}
	return b.send(false)
}

// flushLast sends the last, partial batch to be inserted. wait returns the
// result.
func (b *batchInserter[T]) flushLast() error {
	return b.send(true)
}

// send passes the pending records to the insert goroutine, and applies the
// results that come back while it waits for room in the queue.
func (b *batchInserter[T]) send(last bool) error {
	if b.err != nil {
		return b.err
	}
	if len(b.pending) == 0 {
		return nil
	}
	if b.stopped {
		return errors.New("store rows: the batch inserter is already stopped")
	}

	batch := insertBatch[T]{
		records: b.pending,
		line:    b.pendingLine,
		last:    last,
		read: readCounts{
			rowsRead: b.summary.RowsRead,
			skipped:  b.summary.Skipped,
			badRows:  len(b.summary.BadRows),
		},
	}
	// Allocate a new slice, because the store does not promise to drop its
	// reference to the old one.
	b.pending = make([]T, 0, b.size)

	for {
		select {
		case b.queue <- batch:
			return nil
		case outcome := <-b.results:
			if err := b.apply(outcome); err != nil {
				return err
			}
		}
	}
}

// wait stops the insert goroutine once it has inserted every queued batch,
// applies their results, and returns the first failed insert's error. It
// drops the records of a partial batch that was not sent. Calling it again
// returns the same error.
func (b *batchInserter[T]) wait() error {
	if !b.stopped {
		b.stopped = true
		close(b.queue)
		for outcome := range b.results {
			b.apply(outcome)
		}
	}
	return b.err
}

// apply adds an insert's counts to the summary, or records its error and
// resets the reader's counts to those of the failed batch.
func (b *batchInserter[T]) apply(outcome insertOutcome) error {
	if outcome.err != nil {
		if b.err == nil {
			b.err = outcome.err
			b.summary.RowsRead = outcome.read.rowsRead
			b.summary.Skipped = outcome.read.skipped
			b.summary.BadRows = b.summary.BadRows[:outcome.read.badRows]
		}
		return b.err
	}
	b.summary.Imported += outcome.result.Inserted
	b.summary.Duplicates += outcome.result.Duplicates
	return nil
}
