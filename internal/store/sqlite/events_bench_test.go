package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
)

// benchBatchSize is the batch size of the native endpoint's benchmark (I1).
const benchBatchSize = 500

// benchEvents returns batch number n of 500 events by 20,000 users, with the
// properties of the generated benchmark data. Message IDs never repeat.
func benchEvents(n int) []store.Event {
	names := []string{"page_view", "screen_view", "click", "search", "purchase"}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]store.Event, benchBatchSize)
	for i := range events {
		seq := n*benchBatchSize + i
		props := map[string]any{"plan": "pro", "country": "DE"}
		if seq%20 == 0 {
			props["amount"] = 29.0
		}
		events[i] = store.Event{
			Name:       names[seq%len(names)],
			DistinctID: fmt.Sprintf("u%d", (seq*7919)%20_000),
			Timestamp:  base.Add(time.Duration(seq) * time.Second),
			Properties: props,
			Source:     "bench",
			MessageID:  fmt.Sprintf("bench-%d", seq),
			ReceivedAt: base,
		}
	}
	return events
}

// BenchmarkInsertEvents inserts batches of 500 new events, one transaction
// each, into a database on disk, and reports events per second.
func BenchmarkInsertEvents(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	batches := make([][]store.Event, b.N)
	for n := range batches {
		batches[n] = benchEvents(n)
	}

	b.ResetTimer()
	for n := range b.N {
		res, err := db.InsertEvents(ctx, batches[n])
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted != benchBatchSize {
			b.Fatalf("batch %d: inserted %d, want %d", n, res.Inserted, benchBatchSize)
		}
	}
	b.ReportMetric(float64(b.N*benchBatchSize)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkInsertEventBatches inserts groups of four batches of 500 new
// events, one transaction per group, as the server's group commit does
// with four requests waiting, and reports events per second.
func BenchmarkInsertEventBatches(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	const group = 4
	groups := make([][][]store.Event, b.N)
	for n := range groups {
		for i := range group {
			groups[n] = append(groups[n], benchEvents(n*group+i))
		}
	}

	b.ResetTimer()
	for n := range b.N {
		results, _, err := db.InsertEventBatches(ctx, groups[n])
		if err != nil {
			b.Fatal(err)
		}
		for i, res := range results {
			if res.Inserted != benchBatchSize {
				b.Fatalf("group %d, batch %d: inserted %d, want %d", n, i, res.Inserted, benchBatchSize)
			}
		}
	}
	b.ReportMetric(float64(b.N*group*benchBatchSize)/b.Elapsed().Seconds(), "events/s")
}
