package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/ingest"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexSaveInterval is how often the server persists the changed entries of
// the activity index while events arrive. Events stored after the last save
// are read again from the store at the next start, so a crash loses nothing.
const indexSaveInterval = 5 * time.Second

// openIndex loads the activity index of db for the time zone and the
// properties that defs use, rebuilding it when the stored one does not fit,
// and persists it. It logs a warning for each of the KPI file's dimensions
// that no indexed event has a value for.
func openIndex(ctx context.Context, db appStore, defs *kpi.Definitions, logger *slog.Logger) (*engine.ActivityIndex, error) {
	ix := engine.NewActivityIndex(db, defs.Workspace.Location, engine.DeclaredFor(defs), logger)
	if err := ix.Load(ctx); err != nil {
		return nil, fmt.Errorf("load the activity index: %w", err)
	}
	if logger != nil && ix.LastEventID() > 0 {
		for _, dim := range ix.DimensionsWithoutValues(defs.Dimensions) {
			logger.Warn("activity index: no event has a value for a dimension the KPI file declares; check its spelling under dimensions:", "dimension", dim)
		}
	}
	if err := ix.Save(ctx); err != nil {
		return nil, fmt.Errorf("save the activity index: %w", err)
	}
	return ix, nil
}

// indexedStore is a store whose event writes keep the activity index up to
// date: it adds the new events to the index after each insert, marks the
// index for a rebuild after an alias (which moves stored events to another
// user id), and persists the index at most every indexSaveInterval.
// Concurrent inserts share transactions through a group committer.
type indexedStore struct {
	appStore
	index  *engine.ActivityIndex
	logger *slog.Logger

	// committer runs one insert transaction at a time, with its index
	// update, so that the index reads event ids in the order they were
	// committed.
	committer *ingest.GroupCommitter

	mu        sync.Mutex // guards lastSaved and the index saves
	lastSaved time.Time
}

// newIndexedStore returns db with inserts that update ix.
func newIndexedStore(db appStore, ix *engine.ActivityIndex, logger *slog.Logger) *indexedStore {
	s := &indexedStore{appStore: db, index: ix, logger: logger, lastSaved: time.Now()}
	s.committer = ingest.NewGroupCommitter(s.insertBatches)
	return s
}

// InsertEvents stores events, possibly in one transaction with those of
// concurrent callers, and adds them to the index.
func (s *indexedStore) InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error) {
	return s.committer.InsertEvents(ctx, events)
}

// insertBatches stores batches in one transaction, then adds the new events
// to the index: directly when the store returns them with their ids, by
// reading the store otherwise.
func (s *indexedStore) insertBatches(ctx context.Context, batches [][]store.Event) ([]store.InsertResult, error) {
	results, stored, err := s.appStore.InsertEventBatches(ctx, batches)
	if err != nil {
		return nil, err
	}
	inserted := 0
	for _, r := range results {
		inserted += r.Inserted
	}
	if inserted == 0 {
		return results, nil
	}

	if stored != nil {
		err = s.index.AddInserted(ctx, stored)
	} else {
		err = s.index.Sync(ctx)
	}
	if err != nil {
		// The events are committed; the index catches up at the next query.
		s.logger.Error("activity index: update after insert failed", "error", err, "events", inserted)
		return results, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.lastSaved) >= indexSaveInterval {
		s.save(ctx)
	}
	return results, nil
}

// Alias merges users, then marks the index for a rebuild.
func (s *indexedStore) Alias(ctx context.Context, calls []store.Alias) error {
	err := s.appStore.Alias(ctx, calls)
	if err == nil && len(calls) > 0 {
		// TODO: move the merged users' bits instead of rebuilding everything.
		s.index.Invalidate()
	}
	return err
}

func (s *indexedStore) save(ctx context.Context) {
	s.lastSaved = time.Now()
	err := s.index.Save(ctx)
	switch {
	case err == nil:
	case kpi.ErrorCode(err) == kpi.ECONFLICT:
		// Another command (an import, a report) saved the index while this
		// one ran. The next start loads that copy and adds the events stored
		// after it, or rebuilds when it was built for other KPIs.
		s.logger.Info("activity index: not saved, because another process saved it meanwhile; the next start loads that copy", "reason", err)
	default:
		s.logger.Error("activity index: save failed; it is read again from the events at the next start", "error", err)
	}
}

// Close persists the index and closes the store.
func (s *indexedStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.save(context.Background())
	return s.appStore.Close()
}

func newReindexCmd(g *globals) *cobra.Command {
	var kpiPath string
	cmd := &cobra.Command{
		Use:   "reindex --kpis FILE [--db PATH]",
		Short: "Rebuild the activity index from every stored event",
		Long: `Rebuild the activity index, which answers most KPIs without reading the
events, from every event in the database, and store it in the database.
The index counts days in the KPI file's time zone and keeps the properties
its KPIs sum, average and filter on. The server and reports rebuild it by
themselves when these change; run this command after repairing events by
hand in the database.`,
		Example: `  northstar reindex --kpis kpis.yaml --db northstar.db`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kpiPath == "" {
				return &usageError{errors.New("--kpis FILE is required")}
			}
			defs, err := kpi.LoadFile(kpiPath)
			if err != nil {
				return err
			}
			db, err := openStore(cmd.Context(), g.dbPath)
			if err != nil {
				return err
			}
			defer db.Close()

			start := time.Now()
			ix := engine.NewActivityIndex(db, defs.Workspace.Location, engine.DeclaredFor(defs), nil)
			if err := ix.Load(cmd.Context()); err != nil {
				return err
			}
			if ix.Rebuilds() == 0 {
				if err := ix.Rebuild(cmd.Context()); err != nil {
					return err
				}
			}
			if err := ix.Save(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Rebuilt the activity index of %s for %s up to event %d in %s\n",
				displayDSN(g.dbPath), defs.Workspace.Location, ix.LastEventID(), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&kpiPath, "kpis", "", "KPI definitions file (YAML) whose time zone and properties the index serves")
	return cmd
}
