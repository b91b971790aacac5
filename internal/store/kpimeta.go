package store

import (
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// StoredKPI is a KPI made in the UI, as the kpis table keeps it. KPIs from
// the KPI file are not stored this way: the file is their only source.
type StoredKPI struct {
	ID         string
	Name       string
	Objective  string
	Owner      string
	Unit       string
	Direction  kpi.Direction
	Definition []byte // the KPI as JSON in the KPI file's layout (kpi.KPIInput)
	UpdatedAt  time.Time
}

// AnnotationQuery selects annotations. KPI selects the notes on that KPI and
// the notes on every KPI; an empty KPI selects every annotation. From and To
// bound the dates, inclusive, when they are not zero.
type AnnotationQuery struct {
	KPI  string
	From timegrain.Date
	To   timegrain.Date
}

// Bounds returns q's dates as YYYY-MM-DD text, with an open end widened to
// a date before or after every stored one, so that a store can compare the
// stored text with them.
func (q AnnotationQuery) Bounds() (from, to string) {
	from, to = "0000-01-01", "9999-12-31"
	if !q.From.IsZero() {
		from = q.From.String()
	}
	if !q.To.IsZero() {
		to = q.To.String()
	}
	return from, to
}
