package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
)

// batchOf returns a batch of n events whose message ids start with prefix.
func batchOf(prefix string, n int) []store.Event {
	events := make([]store.Event, n)
	for i := range events {
		events[i] = store.Event{Name: "visit", DistinctID: "u1", MessageID: fmt.Sprintf("%s-%d", prefix, i), Source: "test"}
	}
	return events
}

// countingCommit is a commit function that records the size of each group
// and counts each batch's events as inserted. A batch whose first message
// id is "bad-0" fails its group. The first call waits for release.
type countingCommit struct {
	mu      sync.Mutex
	groups  []int
	release chan struct{}
	first   sync.Once
	started chan struct{}
}

func (c *countingCommit) commit(_ context.Context, batches [][]store.Event) ([]store.InsertResult, error) {
	c.first.Do(func() {
		close(c.started)
		<-c.release
	})
	c.mu.Lock()
	c.groups = append(c.groups, len(batches))
	c.mu.Unlock()

	results := make([]store.InsertResult, len(batches))
	for i, b := range batches {
		if b[0].MessageID == "bad-0" {
			return nil, errors.New("invalid batch")
		}
		results[i] = store.InsertResult{Inserted: len(b)}
	}
	return results, nil
}

func TestGroupCommitterGroupsWaitingBatches(t *testing.T) {
	c := &countingCommit{release: make(chan struct{}), started: make(chan struct{})}
	gc := NewGroupCommitter(c.commit)
	ctx := context.Background()

	// The first caller commits alone and blocks; the next five wait.
	type outcome struct {
		n   int
		res store.InsertResult
		err error
	}
	out := make(chan outcome, 6)
	go func() {
		res, err := gc.InsertEvents(ctx, batchOf("first", 1))
		out <- outcome{1, res, err}
	}()
	<-c.started
	for i := range 5 {
		go func() {
			n := i + 2
			res, err := gc.InsertEvents(ctx, batchOf(fmt.Sprint("w", i), n))
			out <- outcome{n, res, err}
		}()
	}
	waitFor(t, func() bool {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		return len(gc.pending) == 5
	})
	close(c.release)

	for range 6 {
		o := <-out
		if o.err != nil {
			t.Errorf("batch of %d: %v", o.n, o.err)
		}
		if o.res.Inserted != o.n {
			t.Errorf("batch of %d: inserted %d, want its own count", o.n, o.res.Inserted)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.groups) != 2 || c.groups[0] != 1 || c.groups[1] != 5 {
		t.Errorf("groups = %v, want [1 5]: the five waiting batches in one transaction", c.groups)
	}
}

func TestGroupCommitterInvalidBatchFailsAlone(t *testing.T) {
	c := &countingCommit{release: make(chan struct{}), started: make(chan struct{})}
	gc := NewGroupCommitter(c.commit)
	ctx := context.Background()

	done := make(chan error, 1)
	go func() {
		_, err := gc.InsertEvents(ctx, batchOf("first", 1))
		done <- err
	}()
	<-c.started

	type outcome struct {
		prefix string
		res    store.InsertResult
		err    error
	}
	out := make(chan outcome, 3)
	for _, prefix := range []string{"good1", "bad", "good2"} {
		go func() {
			res, err := gc.InsertEvents(ctx, batchOf(prefix, 2))
			out <- outcome{prefix, res, err}
		}()
	}
	waitFor(t, func() bool {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		return len(gc.pending) == 3
	})
	close(c.release)
	if err := <-done; err != nil {
		t.Fatalf("first batch: %v", err)
	}

	for range 3 {
		o := <-out
		switch {
		case o.prefix == "bad" && o.err == nil:
			t.Errorf("invalid batch: no error")
		case o.prefix != "bad" && o.err != nil:
			t.Errorf("batch %s failed with the invalid batch of its group: %v", o.prefix, o.err)
		case o.prefix != "bad" && o.res.Inserted != 2:
			t.Errorf("batch %s: inserted %d, want 2", o.prefix, o.res.Inserted)
		}
	}
}

func TestGroupCommitterPanicReleasesWaiters(t *testing.T) {
	var calls int
	var mu sync.Mutex
	release := make(chan struct{})
	started := make(chan struct{})
	gc := NewGroupCommitter(func(_ context.Context, batches [][]store.Event) ([]store.InsertResult, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			close(started)
			<-release
			panic("store failure")
		}
		return make([]store.InsertResult, len(batches)), nil
	})
	ctx := context.Background()

	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		gc.InsertEvents(ctx, batchOf("first", 1))
	}()
	<-started
	// This batch arrives during the panicking commit, so it is committed in
	// the next group, after the hand-over.
	waiter := make(chan error, 1)
	go func() {
		_, err := gc.InsertEvents(ctx, batchOf("second", 1))
		waiter <- err
	}()
	waitFor(t, func() bool {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		return len(gc.pending) == 1
	})
	close(release)

	if p := <-panicked; p == nil {
		t.Errorf("the panic of the commit did not reach its caller")
	}
	select {
	case err := <-waiter:
		if err != nil {
			t.Errorf("batch after the panic: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a batch waiting during a panicking commit was never committed")
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 10 s")
}
