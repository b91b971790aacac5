package engine

import (
	"context"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// indexCohorts fills the sizes and return counts of t, whose rows and cells
// are set, from the activity index. It returns false, with t unchanged, when
// the index cannot give the same table as the store. The conditions are those
// of indexRetention: rolling mode needs each event's time of day, and so does
// period 0 when the return event is not the cohort event.
//
// NOTE: every table has a period 0, so a return event other than the cohort
// event always falls back, even though the index could count periods 1 and
// later.
//
// A row's cohort is the users whose first cohort event falls in the row's
// period, cut at t.To. In calendar mode period k is the same span for every
// user of a row, so the users back in it are the cohort's intersection with
// the return event's users over that span.
func (ev *evaluator) indexCohorts(ctx context.Context, m kpi.Metric, clock retentionClock, t *CohortTable) (bool, error) {
	v := ev.index
	if v == nil || clock.mode != kpi.CalendarRetention || !returnsByDefinition(m, 0) {
		return false, nil
	}
	f, ok := v.filterFor(m.Filters)
	if !ok {
		return false, nil
	}

	spans := make([]store.Interval, len(t.Cohorts))
	cuts := []time.Time{t.To}
	for i, row := range t.Cohorts {
		if !v.aligned(row.Start) {
			return false, nil
		}
		spans[i] = store.Interval{Start: row.Start, End: earlier(row.End, t.To)}
		cuts = append(cuts, spans[i].End)
	}
	nc, err := v.firstUsers(ctx, m.CohortEvent, f, cuts)
	if err != nil {
		return false, err
	}

	returnEvent := m.ReturnEvent
	if returnEvent == "" {
		returnEvent = allEvents
	}
	returns := map[int64]*roaring.Bitmap{} // by the start of the period
	sizes := make([]int64, len(t.Cohorts))
	users := make([][]int64, len(t.Cohorts))
	for i, row := range t.Cohorts {
		if !spans[i].Start.Before(spans[i].End) {
			users[i] = make([]int64, len(row.Retained))
			continue
		}
		cohort := union(mapValues(nc.in(spans[i], v.ix.loc)))
		sizes[i] = int64(cohort.GetCardinality())

		users[i] = make([]int64, len(row.Retained))
		for k := range row.Retained {
			if returnsByDefinition(m, k) || cohort.IsEmpty() {
				continue // Cohorts sets period 0 to the size, and an empty cohort has no returns
			}
			start, end := clock.period(row.Start, k)
			back := returns[start.UnixNano()]
			if back == nil {
				back, ok, err = v.users(ctx, returnEvent, sliceFilter{}, store.Interval{Start: start, End: earlier(end, t.To)})
				if !ok || err != nil {
					return ok, err
				}
				returns[start.UnixNano()] = back
			}
			users[i][k] = int64(cohort.AndCardinality(back))
		}
	}

	for i := range t.Cohorts {
		t.Cohorts[i].Size = sizes[i]
		for k := range t.Cohorts[i].Retained {
			t.Cohorts[i].Retained[k].Users = users[i][k]
		}
	}
	ev.warnCohorts(ctx, m, nc, t)
	return true, nil
}

// warnCohorts adds the warnings of firstCohortEvents.
func (ev *evaluator) warnCohorts(ctx context.Context, m kpi.Metric, nc *newcomers, t *CohortTable) {
	anyMember := len(nc.byDay) > 0
	if u := nc.byCut[t.To.UnixNano()]; u != nil && !u.IsEmpty() {
		anyMember = true
	}
	switch {
	case !anyMember && len(m.Filters) == 0:
		ev.warnf("no %q events to form cohorts with%s", m.CohortEvent, ev.knownEvents(ctx, m.CohortEvent))
	case !anyMember:
		ev.warnf("no %q events match the where filters, so every cohort is empty", m.CohortEvent)
	}
	if m.ReturnEvent != "" && m.ReturnEvent != m.CohortEvent {
		if known := ev.knownEvents(ctx, m.ReturnEvent); known != "" {
			ev.warnf("no %q events to count returns with%s", m.ReturnEvent, known)
		}
	}
}

func mapValues(byDay map[int32]*roaring.Bitmap) []*roaring.Bitmap {
	out := make([]*roaring.Bitmap, 0, len(byDay))
	for _, u := range byDay {
		out = append(out, u)
	}
	return out
}
