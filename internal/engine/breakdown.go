package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Segment names that are not property values.
const (
	// NoneSegment holds the events that lack the property, or have it null
	// or empty.
	NoneSegment = "(none)"

	// OtherSegment pools the segments ranked below a breakdown's limit.
	OtherSegment = "(other)"
)

// Breakdown limits: how many segments are shown by name before the rest are
// pooled into OtherSegment.
const (
	DefaultBreakdownLimit = 10
	MaxBreakdownLimit     = 100
)

// Breakdown is a KPI's value per segment of events, a segment being the
// events that share one value of a property, in each period of a range.
type Breakdown struct {
	KPI      string          `json:"kpi"`
	Property string          `json:"property"`
	Grain    timegrain.Grain `json:"grain"`
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Limit    int             `json:"limit"`

	Periods []BreakdownPeriod `json:"periods"`

	// Segments are ordered by rank, the largest first, with OtherSegment
	// last when some segments are pooled.
	Segments []Segment `json:"segments"`

	// Warnings point at likely mistakes, such as a property that no event has.
	Warnings []string `json:"warnings,omitempty"`

	// Path names what computed the values, as Series.Path does.
	Path string `json:"path,omitempty"`

	// PathNotes give the reasons why parts of the breakdown were computed
	// by SQL on the store when the engine has an activity index.
	PathNotes []string `json:"path_notes,omitempty"`
}

// BreakdownPeriod is one period of a breakdown. A partial period's values
// cover it only up to the end of the range.
type BreakdownPeriod struct {
	Start   time.Time `json:"period_start"`
	End     time.Time `json:"period_end"`
	Partial bool      `json:"partial"`
}

// Segment is the KPI's value over the events of one property value.
type Segment struct {
	Name string `json:"name"` // the property value as text, NoneSegment or OtherSegment

	// Pooled is the number of segments that OtherSegment pools; 0 for the
	// others.
	Pooled int `json:"pooled,omitempty"`

	// Total is the value over the whole range, computed like a period's:
	// distinct users over the range for unique users, never a sum of periods.
	Total SegmentValue `json:"total"`

	// Values holds one value per period of the breakdown.
	Values []SegmentValue `json:"values"`
}

// SegmentValue is a segment's value. Value is nil when there is none, such
// as an average over no events, and NoValueReason then gives the reason.
type SegmentValue struct {
	Value         *float64 `json:"value"`
	NoValueReason string   `json:"no_value_reason,omitempty"`
}

// Breakdown computes the KPI id per value of property, in each period of
// grain over r. Segments are ranked by their value over the range for count,
// unique_users and sum metrics, and by their number of events for averages
// and formulas, whose per-segment rates would rank tiny segments first. The
// first limit segments are kept (DefaultBreakdownLimit when limit is 0), and
// the rest are pooled into OtherSegment. Its value is computed from the
// pooled events: distinct users across the pooled segments, the pooled
// average, or the formula over pooled inputs.
//
// A formula is evaluated per segment over its inputs' values in that
// segment; every input is scanned with the same property, and must be a
// count, unique_users, sum, average or formula metric. The kinds that take
// where filters (active_users, stickiness, new_users, churn, retention,
// funnel and nps) are evaluated once per segment with an extra filter on the
// property; see filteredBreakdown. Other kinds return EINVALID, and so do a
// bad limit, property or range. An unknown KPI returns ENOTFOUND.
func (e *Engine) Breakdown(ctx context.Context, defs *kpi.Definitions, id string, property string, limit int, grain timegrain.Grain, r Range) (*Breakdown, error) {
	k, err := defs.KPI(id)
	if err != nil {
		return nil, err
	}
	if err := checkBreakdownArgs(property, limit); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultBreakdownLimit
	}
	if _, err := timegrain.ParseGrain(string(grain)); err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "%v", err)
	}

	b := &breakdowner{defs: defs, property: property, tables: map[string]*segmentTable{}}
	if err := b.check(k.ID, k.Metric, nil); err != nil {
		return nil, err
	}

	cal := defs.Workspace.Calendar()
	view, release := e.indexView(ctx, cal)
	if view != nil && !slices.Contains(view.ix.declared.Dimensions, property) {
		b.notes.add("%q is not a dimension of the activity index, so every metric scans the events (list it under dimensions: in the KPI file)", property)
		// The view holds the index's read lock, which stops inserts from
		// updating the index while the store scans every event.
		release()
		view, release = nil, func() {}
	}
	defer release()
	from, to, err := e.spanWith(ctx, cal, grain, r, view)
	if err != nil {
		return nil, err
	}
	periods := cal.Periods(grain, from, to)
	if len(periods) > MaxPeriods {
		return nil, kpi.Errorf(kpi.EINVALID, "the range from %s holds %d %s periods, more than %d; choose a coarser grain or a shorter range",
			timegrain.DateOf(from), len(periods), grain, MaxPeriods)
	}
	b.periods = periods
	b.ev = newEvaluator(e.events, defs, grain, nil)
	b.view, b.paths = view, map[string]bool{}

	out := &Breakdown{KPI: k.ID, Property: property, Grain: grain, From: from, To: to, Limit: limit}
	for _, p := range periods {
		out.Periods = append(out.Periods, BreakdownPeriod{Start: p.Start, End: p.End, Partial: p.Partial})
	}
	if filterable(k.Metric.Kind) {
		return e.filteredBreakdown(ctx, defs, k, property, limit, grain, periods, view, &b.notes, out)
	}

	ranked, err := b.rank(ctx, k.ID, k.Metric)
	if err != nil {
		return nil, err
	}
	rows := make([][]string, 0, limit+1)
	for _, name := range ranked[:min(limit, len(ranked))] {
		rows = append(rows, []string{name})
	}
	if len(ranked) > limit {
		rows = append(rows, ranked[limit:])
	}

	out.Segments = make([]Segment, 0, len(rows))
	for i, members := range rows {
		vals, total, err := b.values(ctx, k.ID, k.Metric, members)
		if err != nil {
			return nil, err
		}
		seg := Segment{Name: members[0], Total: segmentValue(total), Values: make([]SegmentValue, len(vals))}
		if i == limit {
			seg.Name, seg.Pooled = OtherSegment, len(members)
		}
		for j, v := range vals {
			seg.Values[j] = segmentValue(v)
		}
		out.Segments = append(out.Segments, seg)
	}
	out.Warnings = b.ev.warnings
	out.Path = pathOf(b.paths)
	out.PathNotes = b.notes
	return out, nil
}

// checkBreakdownArgs checks the property and limit of a breakdown.
func checkBreakdownArgs(property string, limit int) error {
	switch {
	case strings.TrimSpace(property) == "":
		return kpi.Errorf(kpi.EINVALID, "the property to break down by is missing (name one, such as country or plan)")
	case strings.Contains(property, `"`):
		return kpi.Errorf(kpi.EINVALID, "property %q contains a double quote, which property names may not", property)
	case limit < 0 || limit > MaxBreakdownLimit:
		return kpi.Errorf(kpi.EINVALID, "limit %d is out of range (want 1 to %d segments; the rest are pooled into %s)", limit, MaxBreakdownLimit, OtherSegment)
	}
	return nil
}

func segmentValue(v value) SegmentValue {
	if !v.ok {
		return SegmentValue{NoValueReason: v.reason}
	}
	return SegmentValue{Value: ptr(v.v)}
}

// breakdowner computes one breakdown. It scans each event metric that the
// KPI needs once, into a segmentTable, and evaluates rows of segments from
// those tables.
type breakdowner struct {
	defs     *kpi.Definitions
	property string
	periods  []timegrain.Period
	ev       *evaluator // for the store's scanner and the warnings
	tables   map[string]*segmentTable

	// view reads the activity index, when the engine has one that fits the
	// workspace; paths collects which paths built the tables.
	view  *indexView
	paths map[string]bool
	notes pathNotes // reasons for the parts that took the SQL path
}

// breakable reports whether a metric of kind k is computed per event, so
// that its events can be split by a property of each event.
func breakable(k kpi.MetricKind) bool {
	return k == kpi.Count || k == kpi.UniqueUsers || k == kpi.Sum || k == kpi.Average
}

// check returns EINVALID when the metric named name, or a metric its
// formula uses, cannot be broken down. via lists the formulas that led to it.
func (b *breakdowner) check(name string, m kpi.Metric, via []string) error {
	switch {
	case breakable(m.Kind):
		return nil
	case filterable(m.Kind) && len(via) == 0:
		return nil
	case m.Kind == kpi.Formula:
		if m.Compiled == nil {
			return kpi.Errorf(kpi.EINVALID, "formula %q was not compiled; load the KPI file with kpi.LoadFile", m.Formula)
		}
		for _, dep := range m.Compiled.Names() {
			dm, ok := b.defs.ResolveMetric(dep)
			if !ok {
				return kpi.Errorf(kpi.EINVALID, "formula %q uses %q, which is neither a metric nor a KPI", m.Formula, dep)
			}
			if err := b.check(dep, dm, append(via, name)); err != nil {
				return err
			}
		}
		return nil
	}

	if len(via) > 0 {
		return kpi.Errorf(kpi.EINVALID, "kpi %q uses %s, which is of kind %s, which cannot be broken down inside a formula (formula inputs must be count, unique_users, sum or average metrics, or formulas over them)",
			via[0], strings.Join(append(via[1:], name), " -> "), m.Kind)
	}
	return kpi.Errorf(kpi.EINVALID, "kpi %q is of kind %s, which cannot be broken down by a property because it takes no where filter on its events (breakdowns work on count, unique_users, sum, average and formula metrics, and on %s)",
		name, m.Kind, filterableKinds)
}

// rank returns every segment of the metric, largest first: by value over the
// range for counts, unique users and sums, and by number of events for
// averages and formulas. Ties go in name order.
func (b *breakdowner) rank(ctx context.Context, name string, m kpi.Metric) ([]string, error) {
	tables, err := b.baseTables(ctx, name, m, nil)
	if err != nil {
		return nil, err
	}

	weights := map[string]float64{}
	for _, t := range tables {
		for seg, acc := range t.segments {
			if m.Kind == kpi.Formula || m.Kind == kpi.Average {
				weights[seg] += float64(acc.total.events)
			} else {
				weights[seg] = acc.total.value(m).v
			}
		}
	}

	names := make([]string, 0, len(weights))
	for seg := range weights {
		names = append(names, seg)
	}
	slices.SortFunc(names, func(a, c string) int {
		switch {
		case weights[a] > weights[c]:
			return -1
		case weights[a] < weights[c]:
			return 1
		}
		return strings.Compare(a, c)
	})
	return names, nil
}

// baseTables returns the tables of the event metrics that m is or uses,
// scanning each once.
func (b *breakdowner) baseTables(ctx context.Context, name string, m kpi.Metric, out []*segmentTable) ([]*segmentTable, error) {
	if m.Kind != kpi.Formula {
		t, err := b.table(ctx, name, m)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
		return out, nil
	}
	for _, dep := range m.Compiled.Names() {
		dm, _ := b.defs.ResolveMetric(dep)
		var err error
		if out, err = b.baseTables(ctx, dep, dm, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// values returns the metric's value per period, and over the range, for the
// row that pools the segments members.
func (b *breakdowner) values(ctx context.Context, name string, m kpi.Metric, members []string) ([]value, value, error) {
	if m.Kind == kpi.Formula {
		return b.formulaValues(ctx, m, members)
	}

	t, err := b.table(ctx, name, m)
	if err != nil {
		return nil, value{}, err
	}
	out := make([]value, len(b.periods))
	for i := range b.periods {
		var acc accumulator
		for _, seg := range members {
			if s := t.segments[seg]; s != nil {
				acc.merge(s.periods[i])
			}
		}
		out[i] = acc.value(m)
	}
	var total accumulator
	for _, seg := range members {
		if s := t.segments[seg]; s != nil {
			total.merge(&s.total)
		}
	}
	return out, total.value(m), nil
}

// formulaValues evaluates a formula per period, and over the range, on its
// inputs' values for the same row of segments.
func (b *breakdowner) formulaValues(ctx context.Context, m kpi.Metric, members []string) ([]value, value, error) {
	names := m.Compiled.Names()
	inputs := make(map[string][]value, len(names))
	totals := make(map[string]value, len(names))
	for _, dep := range names {
		dm, _ := b.defs.ResolveMetric(dep)
		vals, total, err := b.values(ctx, dep, dm, members)
		if err != nil {
			return nil, value{}, err
		}
		inputs[dep], totals[dep] = vals, total
	}

	out := make([]value, len(b.periods))
	at := make(map[string]value, len(names))
	for i := range b.periods {
		for dep, vals := range inputs {
			at[dep] = vals[i]
		}
		out[i] = evalFormula(m.Compiled, at)
	}
	return out, evalFormula(m.Compiled, totals), nil
}

// evalFormula evaluates f on inputs, or returns no value naming the first
// input (in name order) that has none.
func evalFormula(f *kpi.CompiledFormula, inputs map[string]value) value {
	env := make(map[string]float64, len(inputs))
	for _, name := range f.Names() {
		in := inputs[name]
		if !in.ok {
			return value{reason: fmt.Sprintf("%s has no value", name)}
		}
		env[name] = in.v
	}
	v, ok, reason := f.Eval(env)
	return value{v: v, ok: ok, reason: reason}
}

// segmentTable holds one event metric's accumulators per segment.
type segmentTable struct {
	segments map[string]*segmentAccumulators
}

// segmentAccumulators are one segment's accumulators per period and over
// the whole range.
type segmentAccumulators struct {
	periods []*accumulator // nil for a period without events
	total   accumulator
}

// table returns the segment table of the event metric named name, scanning
// the store the first time.
func (b *breakdowner) table(ctx context.Context, name string, m kpi.Metric) (*segmentTable, error) {
	if t, ok := b.tables[name]; ok {
		return t, nil
	}
	t, ok, err := b.indexTable(ctx, name, m)
	if err != nil {
		return nil, err
	}
	if ok {
		b.paths[PathIndex] = true
		b.tables[name] = t
		return t, nil
	}
	b.paths[PathSQL] = true

	scanner, err := b.ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}

	q := store.ScanQuery{
		Events:  []string{m.Event},
		Filters: m.Filters,
		From:    b.periods[0].Start,
		To:      b.periods[len(b.periods)-1].Cutoff,
		Keys:    []string{b.property},
	}
	if m.Kind == kpi.Sum || m.Kind == kpi.Average {
		q.Property = m.Property
	}

	t = &segmentTable{segments: map[string]*segmentAccumulators{}}
	users := m.Kind == kpi.UniqueUsers
	var events, withProperty int64
	period := 0
	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		// Rows come in time order and periods are contiguous, so the period
		// index only moves forward.
		for period < len(b.periods)-1 && !row.Timestamp.Before(b.periods[period].Cutoff) {
			period++
		}
		if row.Timestamp.Before(b.periods[period].Start) || !row.Timestamp.Before(b.periods[period].Cutoff) {
			return nil
		}

		seg := NoneSegment
		if len(row.Keys) > 0 && row.Keys[0] != "" {
			seg = row.Keys[0]
			withProperty++
		}
		s := t.segments[seg]
		if s == nil {
			s = &segmentAccumulators{periods: make([]*accumulator, len(b.periods))}
			t.segments[seg] = s
		}
		if s.periods[period] == nil {
			s.periods[period] = &accumulator{}
		}
		s.periods[period].add(row, users)
		s.total.add(row, users)
		events++
		return nil
	})
	if err != nil {
		return nil, err
	}

	switch {
	case events == 0:
		b.ev.warnf("metric %s: no %q events in this range%s", name, m.Event, b.ev.knownEvents(ctx, m.Event))
	case withProperty == 0:
		b.ev.warnf("metric %s: no %q event in this range has the property %q, so every one is in %s", name, m.Event, b.property, NoneSegment)
	}
	b.tables[name] = t
	return t, nil
}

// accumulator sums the events of one segment over one span.
type accumulator struct {
	events int64
	sum    float64            // of the numeric property
	values int64              // events on which the property is a number
	users  map[int64]struct{} // distinct users of scanned rows, for unique_users only
	bitmap *roaring.Bitmap    // distinct users from the activity index, for unique_users only
}

func (a *accumulator) add(row store.EventRow, users bool) {
	a.events++
	if row.HasValue {
		a.sum += row.Value
		a.values++
	}
	if users {
		if a.users == nil {
			a.users = map[int64]struct{}{}
		}
		a.users[row.UserID] = struct{}{}
	}
}

// merge adds o's events to a. Users are united, so a user in two merged
// segments counts once.
func (a *accumulator) merge(o *accumulator) {
	if o == nil {
		return
	}
	a.events += o.events
	a.sum += o.sum
	a.values += o.values
	a.mergeBitmap(o)
	if len(o.users) == 0 {
		return
	}
	if a.users == nil {
		a.users = make(map[int64]struct{}, len(o.users))
	}
	for u := range o.users {
		a.users[u] = struct{}{}
	}
}

// value returns the event metric m computed from a.
func (a *accumulator) value(m kpi.Metric) value {
	switch m.Kind {
	case kpi.Count:
		return value{v: float64(a.events), ok: true}
	case kpi.UniqueUsers:
		return value{v: float64(a.userCount()), ok: true}
	case kpi.Sum:
		return value{v: a.sum, ok: true}
	default: // kpi.Average
		if a.values == 0 {
			return value{reason: fmt.Sprintf("no %s event with a numeric %s", m.Event, m.Property)}
		}
		return value{v: a.sum / float64(a.values), ok: true}
	}
}
