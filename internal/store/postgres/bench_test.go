package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/northstar-kpi/northstar/internal/store"
)

// BenchmarkInsertEvents compares three ways to send a batch of new events:
// one INSERT over unnested arrays ("unnest", InsertEvents below
// copyThreshold), COPY into a temporary table then INSERT ... SELECT
// ("copy", from copyThreshold on), and a pgx.Batch of one INSERT per event
// ("batch", for comparison only). Each batch has new message ids and users
// drawn from 1,000 distinct ids. Run it with
//
//	go test -run '^$' -bench InsertEvents -benchtime 2s ./internal/store/postgres/
//
// and compare ns/event across sizes to choose copyThreshold. Two runs of
// 20 batches each on PostgreSQL 15 and a 2-core machine shared with other
// work gave, in microseconds per event (unnest, copy, batch):
//
//	events  unnest   copy  batch
//	    10     167    231    175
//	   100      55     63     61
//	   500   28-33     29  33-44
//	  1000   23-30     23  29-31
//	  2000   19-26  27-30  30-42
//	  5000   16-24     15  21-22
//	 10000      15     13     22
//
// A third run of 30 batches put unnest and copy within 5% of each other
// at 1,000, 2,000 and 5,000 events.
func BenchmarkInsertEvents(b *testing.B) {
	for _, size := range []int{10, 100, 500, 1000, 2000, 5000, 10000} {
		for _, method := range []string{"unnest", "copy", "batch"} {
			b.Run(fmt.Sprintf("%s/%d", method, size), func(b *testing.B) {
				db := openTestDB(b)
				ctx := context.Background()
				start := time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)

				seq := 0
				b.ResetTimer()
				for range b.N {
					events := make([]store.Event, size)
					for i := range events {
						seq++
						events[i] = store.Event{
							Name:       "order",
							DistinctID: fmt.Sprint("user-", seq%1000),
							Timestamp:  start.Add(time.Duration(seq) * time.Second),
							ReceivedAt: start.Add(time.Duration(seq) * time.Second),
							Properties: map[string]any{"revenue": 12.5, "country": "US", "plan": "pro"},
							Source:     "bench",
							MessageID:  fmt.Sprint("m", seq),
						}
					}
					rows, err := eventRows(events)
					if err != nil {
						b.Fatal(err)
					}

					err = db.withTx(ctx, func(tx pgx.Tx) error {
						var n int
						var err error
						switch method {
						case "unnest":
							n, err = db.insertEventRows(ctx, tx, rows, false)
						case "copy":
							n, err = db.insertEventRows(ctx, tx, rows, true)
						case "batch":
							n, err = insertEventRowsBatch(ctx, db, tx, rows)
						}
						if err == nil && n != size {
							err = fmt.Errorf("inserted %d events, want %d", n, size)
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/event")
			})
		}
	}
}

// insertEventRowsBatch inserts rows with one INSERT statement each, sent
// together in a pgx.Batch.
func insertEventRowsBatch(ctx context.Context, db *DB, tx pgx.Tx, rows []eventRow) (int, error) {
	var seen []userSeen
	index := map[string]int{}
	for _, r := range rows {
		if i, ok := index[r.distinctID]; ok {
			seen[i].firstSeen = min(seen[i].firstSeen, r.ts)
			continue
		}
		index[r.distinctID] = len(seen)
		seen = append(seen, userSeen{distinctID: r.distinctID, firstSeen: r.ts})
	}
	persons, err := db.resolveUsers(ctx, tx, seen)
	if err != nil {
		return 0, err
	}

	batch := &pgx.Batch{}
	for _, r := range rows {
		batch.Queue(`
			INSERT INTO events (workspace_id, name, user_id, distinct_id, ts, received_at, properties, source, message_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9)
			ON CONFLICT (workspace_id, source, message_id) DO NOTHING`,
			db.workspaceID, r.name, persons[r.distinctID], r.distinctID, r.ts, r.receivedAt, r.properties, r.source, r.messageID)
	}
	results := tx.SendBatch(ctx, batch)
	inserted := 0
	for range rows {
		tag, err := results.Exec()
		if err != nil {
			results.Close()
			return 0, err
		}
		inserted += int(tag.RowsAffected())
	}
	return inserted, results.Close()
}
