package demo

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// memoryEvents is an in-memory engine.EventAggregator over a slice of events,
// so that tests can compute KPI series of generated data without a database.
// It supports the eq, neq and in filters that the demo KPI file uses.
type memoryEvents struct {
	byName map[string][]store.Event // sorted by time
	first  time.Time
	last   time.Time
}

func newMemoryEvents(events []store.Event) *memoryEvents {
	m := &memoryEvents{byName: map[string][]store.Event{}}
	for _, e := range events {
		m.byName[e.Name] = append(m.byName[e.Name], e)
		if m.first.IsZero() || e.Timestamp.Before(m.first) {
			m.first = e.Timestamp
		}
		if e.Timestamp.After(m.last) {
			m.last = e.Timestamp
		}
	}
	for _, list := range m.byName {
		slices.SortStableFunc(list, func(a, b store.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	}
	return m
}

func (m *memoryEvents) EventSpan(context.Context) (store.Span, error) {
	if m.first.IsZero() {
		return store.Span{Empty: true}, nil
	}
	return store.Span{First: m.first, Last: m.last}, nil
}

func (m *memoryEvents) Aggregate(_ context.Context, q store.AggregateQuery) ([]store.Aggregate, error) {
	list := m.byName[q.Event]
	out := make([]store.Aggregate, len(q.Intervals))
	for i, iv := range q.Intervals {
		lo := sort.Search(len(list), func(j int) bool { return !list[j].Timestamp.Before(iv.Start) })
		hi := sort.Search(len(list), func(j int) bool { return !list[j].Timestamp.Before(iv.End) })

		users := map[string]bool{}
		for _, e := range list[lo:hi] {
			ok, err := matches(e, q.Filters)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			out[i].Events++
			users[e.DistinctID] = true
			if v, isNumber := e.Properties[q.Property].(float64); q.Property != "" && isNumber {
				out[i].Sum += v
				out[i].Values++
			}
		}
		out[i].Users = int64(len(users))
	}
	return out, nil
}

func matches(e store.Event, filters []kpi.Filter) (bool, error) {
	for _, f := range filters {
		v := e.Properties[f.Property]
		switch f.Op {
		case kpi.OpEq:
			if v != f.Value {
				return false, nil
			}
		case kpi.OpNeq:
			if v == f.Value {
				return false, nil
			}
		case kpi.OpIn:
			if !slices.Contains(f.Values, v) {
				return false, nil
			}
		default:
			return false, fmt.Errorf("memoryEvents: filter operator %q is not supported", f.Op)
		}
	}
	return true, nil
}
