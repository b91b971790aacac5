package web

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// KPIMetaStore keeps what the server stores about KPIs besides their data:
// annotations, feedback and the KPIs made in the UI. Methods return
// EINVALID for bad input, ENOTFOUND for an unknown id and ECONFLICT for a
// KPI id that is taken; any other error is internal.
type KPIMetaStore interface {
	CreateAnnotation(ctx context.Context, a kpi.Annotation) (kpi.Annotation, error)
	ListAnnotations(ctx context.Context, q store.AnnotationQuery) ([]kpi.Annotation, error)
	Annotation(ctx context.Context, id int64) (kpi.Annotation, error)
	DeleteAnnotation(ctx context.Context, id int64) error

	CreateFeedback(ctx context.Context, f kpi.Feedback) (kpi.Feedback, error)
	ListFeedback(ctx context.Context, kpiID string) ([]kpi.Feedback, error)

	ListKPIs(ctx context.Context) ([]store.StoredKPI, error)
	CreateKPI(ctx context.Context, k store.StoredKPI) error
	UpdateKPI(ctx context.Context, k store.StoredKPI) error
	DeleteKPI(ctx context.Context, id string) error
}

// catalogLoadTimeout bounds the query that reads the stored KPIs when the
// definitions are requested without a request context.
const catalogLoadTimeout = 10 * time.Second

// kpiCatalog serves the KPI file's definitions with the KPIs made in the UI
// added. It reads the stored KPIs once, and again after every change.
type kpiCatalog struct {
	store  KPIMetaStore
	logger *slog.Logger
	now    func() time.Time

	// writeMu serializes the changes to stored KPIs, so that each is checked
	// against the definitions the one before it left.
	writeMu sync.Mutex

	mu     sync.Mutex
	loaded bool
	stored []store.StoredKPI
	base   *kpi.Definitions // the file's definitions that merged was built on
	merged *kpi.Definitions
}

// definitions returns base with the stored KPIs added. When the stored KPIs
// cannot be read it logs why and returns base, so that a database outage
// leaves the file's KPIs readable.
func (c *kpiCatalog) definitions(base *kpi.Definitions) *kpi.Definitions {
	c.mu.Lock()
	defer c.mu.Unlock()

	if !c.loaded {
		ctx, cancel := context.WithTimeout(context.Background(), catalogLoadTimeout)
		stored, err := c.store.ListKPIs(ctx)
		cancel()
		if err != nil {
			c.logger.Error("read the KPIs made in the UI failed", slog.Any("error", err))
			return base
		}
		c.stored, c.loaded, c.merged = stored, true, nil
	}
	if c.merged != nil && c.base == base {
		return c.merged
	}

	definitions := make([][]byte, 0, len(c.stored))
	for _, k := range c.stored {
		definitions = append(definitions, k.Definition)
	}
	merged, err := base.WithKPIs(definitions, c.now())
	if err != nil {
		c.logger.Warn("some KPIs made in the UI are not served", slog.Any("error", err))
	}
	c.base, c.merged = base, merged
	return merged
}

// input returns the stored definition of the KPI made in the UI with the
// given id, as written, or nil when there is none.
func (c *kpiCatalog) input(id string) *kpi.KPIInput {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.stored {
		if k.ID == id {
			in, err := kpi.DecodeKPIInput(k.Definition)
			if err != nil {
				return nil
			}
			return in
		}
	}
	return nil
}

// invalidate makes the next definitions call read the stored KPIs again.
func (c *kpiCatalog) invalidate() {
	c.mu.Lock()
	c.loaded, c.merged = false, nil
	c.mu.Unlock()
}
