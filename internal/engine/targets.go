package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/northstar-kpi/northstar/internal/analysis"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// HistoryReader supplies what is stored about a KPI beyond its definition:
// target revisions and reviews made through the API. KPIHistory returns an
// empty History for a KPI with none.
type HistoryReader interface {
	KPIHistory(ctx context.Context, kpiID string) (kpi.History, error)
}

// WithHistory returns a copy of e that judges each period against the target
// revisions h stores, beside those of the KPI file, and shows the periods
// after a review retired a KPI as retired.
func (e *Engine) WithHistory(h HistoryReader) *Engine {
	c := *e
	c.history = h
	return &c
}

// kpiHistory returns the stored history of the KPI id, or an empty one when
// e has no HistoryReader.
func (e *Engine) kpiHistory(ctx context.Context, id string) (kpi.History, error) {
	if e.history == nil {
		return kpi.History{}, nil
	}
	h, err := e.history.KPIHistory(ctx, id)
	if err != nil {
		return kpi.History{}, fmt.Errorf("kpi %q: read target revisions and reviews: %w", id, err)
	}
	return h, nil
}

// targetPath is a KPI's path to one target: from its baseline through the
// target's milestones to the target.
type targetPath struct {
	base       PathPoint
	goal       PathPoint
	milestones []Milestone
	points     []analysis.PathPoint // base (when the KPI has a baseline), milestones, goal
}

// targetPaths holds the path of every target revision of a KPI, in the order
// they apply.
type targetPaths struct {
	revisions []kpi.TargetRevision
	paths     []*targetPath
	loc       *time.Location
}

// at returns the path of the revision in force at t, or nil when none is.
func (tp *targetPaths) at(t time.Time) *targetPath {
	i := kpi.TargetOn(tp.revisions, t, tp.loc)
	if i < 0 {
		return nil
	}
	return tp.paths[i]
}

// paths returns the path of every target k has had. A revision keeps the
// KPI's baseline: only the target value, its date and its milestones change.
// Without a baseline the path is flat at the first milestone, or at the
// target value when there is none, from the start of time. A baseline
// without a value takes the KPI's value in the period of its grain
// containing the baseline date.
func (e *Engine) paths(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, h kpi.History, view *indexView) (*targetPaths, error) {
	cal := defs.Workspace.Calendar()
	tp := &targetPaths{revisions: kpi.TargetRevisions(k, h), loc: calendarLocation(cal)}
	if len(tp.revisions) == 0 {
		return tp, nil
	}

	base, err := e.baseline(ctx, defs, k, view)
	if err != nil {
		return nil, err
	}
	for _, r := range tp.revisions {
		tp.paths = append(tp.paths, newTargetPath(cal, k, base, r.Target))
	}
	return tp, nil
}

// baseline returns the start of k's path: its baseline, or a zero point
// when it has none.
func (e *Engine) baseline(ctx context.Context, defs *kpi.Definitions, k *kpi.KPI, view *indexView) (PathPoint, error) {
	base := PathPoint{}
	if k.Baseline == nil {
		return base, nil
	}

	cal := defs.Workspace.Calendar()
	base.At = k.Baseline.Date.In(cal.Location)
	if k.Baseline.Value != nil {
		base.Value = *k.Baseline.Value
		return base, nil
	}

	start := cal.Start(k.Grain, base.At)
	ev := newEvaluator(e.events, defs, k.Grain, []store.Interval{{Start: start, End: cal.Next(k.Grain, start)}})
	ev.cutoff = e.now() // a cohort's later periods count as they are known today
	ev.index = view
	vals, err := ev.metric(ctx, k.Metric)
	if err != nil {
		return base, err
	}
	if !vals[0].ok {
		return base, kpi.Errorf(kpi.EINVALID, "kpi %q: the baseline on %s has no value (%s); set baseline.value or another baseline.date", k.ID, k.Baseline.Date, vals[0].reason)
	}
	base.Value = vals[0].v
	return base, nil
}

// newTargetPath returns the path from base to target t. "By" a date means by
// the end of that day, for milestones as for the target.
func newTargetPath(cal timegrain.Calendar, k *kpi.KPI, base PathPoint, t kpi.Target) *targetPath {
	goal := PathPoint{At: cal.Next(timegrain.Day, t.By.In(calendarLocation(cal)))}
	switch {
	case t.Value != nil:
		goal.Value = *t.Value
	case t.Change != nil:
		goal.Value = base.Value * (1 + *t.Change)
	}

	path := &targetPath{base: base, goal: goal}
	if k.Baseline == nil {
		path.base.Value = goal.Value
		if len(t.Milestones) > 0 {
			path.base.Value = t.Milestones[0].Value
		}
	} else {
		path.points = append(path.points, analysis.PathPoint{At: base.At, Value: base.Value})
	}
	for _, m := range t.Milestones {
		at := cal.Next(timegrain.Day, m.By.In(calendarLocation(cal)))
		path.milestones = append(path.milestones, Milestone{Date: m.By.String(), Value: m.Value})
		path.points = append(path.points, analysis.PathPoint{At: at, Value: m.Value})
	}
	path.points = append(path.points, analysis.PathPoint{At: goal.At, Value: goal.Value})
	return path
}
