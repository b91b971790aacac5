package ingest

import (
	"context"
	"errors"
	"sync"

	"github.com/northstar-kpi/northstar/internal/store"
)

// maxGroupEvents bounds the events of one group commit, so that one
// transaction stays a few MB of write-ahead log.
const maxGroupEvents = 20_000

// CommitFunc stores several batches of events in one transaction and
// returns what each batch added, in order.
type CommitFunc func(ctx context.Context, batches [][]store.Event) ([]store.InsertResult, error)

// GroupCommitter stores the event batches of concurrent callers together.
// While one group is being committed, the batches that arrive wait, and the
// first of them then commits them all in one transaction: one commit, and
// one write of the pages they share, serves several requests. Each caller
// returns only after the transaction that holds its batch has committed.
type GroupCommitter struct {
	commit CommitFunc

	mu      sync.Mutex
	pending []*pendingBatch
	busy    bool // a caller is committing a group
}

// pendingBatch is a caller's batch waiting to be committed.
type pendingBatch struct {
	events []store.Event
	done   chan batchOutcome // receives one outcome; buffered
}

// batchOutcome is the result of a pending batch, or the hand-over that makes
// its caller commit the next group.
type batchOutcome struct {
	result store.InsertResult
	err    error
	lead   bool
}

// NewGroupCommitter returns a GroupCommitter that stores groups with commit.
func NewGroupCommitter(commit CommitFunc) *GroupCommitter {
	return &GroupCommitter{commit: commit}
}

// InsertEvents stores events, possibly in one transaction with the batches
// of other callers, and returns what they added once that transaction has
// committed.
func (c *GroupCommitter) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	own := &pendingBatch{events: events, done: make(chan batchOutcome, 1)}

	c.mu.Lock()
	c.pending = append(c.pending, own)
	if c.busy {
		c.mu.Unlock()
		// A group that started after this batch arrived contains it, so
		// the outcome comes without a timeout.
		out := <-own.done
		if !out.lead {
			return out.result, out.err
		}
	} else {
		c.busy = true
		c.mu.Unlock()
	}
	return c.lead(ctx, own)
}

// lead commits the batches waiting, own first, and hands the next group to
// the first batch that arrived meanwhile.
func (c *GroupCommitter) lead(ctx context.Context, own *pendingBatch) (store.InsertResult, error) {
	c.mu.Lock()
	n, events := 0, 0
	for n < len(c.pending) && (n == 0 || events+len(c.pending[n].events) <= maxGroupEvents) {
		events += len(c.pending[n].events)
		n++
	}
	group := c.pending[:n:n]
	c.pending = c.pending[n:]
	c.mu.Unlock()

	// The next group starts even when the commit panics, and the callers
	// in this group then get an error instead of waiting for ever.
	delivered := false
	defer func() {
		if !delivered {
			for _, p := range group {
				if p != own {
					p.done <- batchOutcome{err: errors.New("storing the events failed: the commit panicked")}
				}
			}
		}
		c.handOver()
	}()

	// The other callers' events are in the transaction, so it does not stop
	// when this caller's request is cancelled.
	outcomes := c.commitGroup(context.WithoutCancel(ctx), group)

	var mine batchOutcome
	for i, p := range group {
		if p == own {
			mine = outcomes[i]
			continue
		}
		p.done <- outcomes[i]
	}
	delivered = true
	return mine.result, mine.err
}

// handOver makes the first waiting caller commit the next group, or marks
// the committer idle.
func (c *GroupCommitter) handOver() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		c.pending[0].done <- batchOutcome{lead: true}
		return
	}
	c.busy = false
}

// commitGroup stores the batches of group in one transaction. When that
// fails, it stores each batch in its own transaction, so that an invalid
// batch fails only its own caller.
func (c *GroupCommitter) commitGroup(ctx context.Context, group []*pendingBatch) []batchOutcome {
	outcomes := make([]batchOutcome, len(group))
	batches := make([][]store.Event, len(group))
	for i, p := range group {
		batches[i] = p.events
	}

	results, err := c.commit(ctx, batches)
	if err == nil || len(group) == 1 {
		for i := range group {
			outcomes[i].err = err
			if err == nil {
				outcomes[i].result = results[i]
			}
		}
		return outcomes
	}

	for i := range group {
		results, err := c.commit(ctx, batches[i:i+1])
		outcomes[i].err = err
		if err == nil {
			outcomes[i].result = results[0]
		}
	}
	return outcomes
}
