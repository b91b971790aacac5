package kpi

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Milestone is an intermediate value a KPI should reach by a date on its way
// to the target. The path to the target passes through every milestone.
type Milestone struct {
	By    timegrain.Date
	Value float64
}

// TargetRevision is one target a KPI has had: the target, the date from
// which it applies, who set it and why. A KPI's target in force on a day is
// that of the latest revision whose AppliesFrom is on or before the day.
type TargetRevision struct {
	ID          int64 // 0 for a revision from the KPI file
	KPI         string
	Target      Target
	AppliesFrom timegrain.Date // the zero date means from the start of time
	Author      string
	Reason      string
	CreatedAt   time.Time
	Source      string // "file" for the KPI file's target: and targets:, "api" for stored revisions
}

// Revision sources.
const (
	SourceFile = "file"
	SourceAPI  = "api"
)

// BenchmarkKind names what a benchmark line shows.
type BenchmarkKind string

// Benchmark kinds.
const (
	IndustryBenchmark BenchmarkKind = "industry"  // a constant figure, such as an industry median
	LastYearBenchmark BenchmarkKind = "last_year" // the KPI's own value one year earlier
	BaselineBenchmark BenchmarkKind = "baseline"  // the KPI's baseline value
)

// Benchmark is a reference line drawn beside a KPI's values. Value is set
// for IndustryBenchmark only.
type Benchmark struct {
	Kind  BenchmarkKind
	Name  string
	Value float64
}

// DefaultName returns the name shown for a benchmark of kind k that has none.
func (k BenchmarkKind) DefaultName() string {
	switch k {
	case IndustryBenchmark:
		return "industry"
	case LastYearBenchmark:
		return "last year"
	default:
		return "baseline"
	}
}

// Cadence is how often a KPI should be reviewed.
type Cadence string

// Review cadences. NoCadence means the KPI has no review schedule.
const (
	NoCadence Cadence = ""
	Weekly    Cadence = "weekly"
	Monthly   Cadence = "monthly"
	Quarterly Cadence = "quarterly"
)

// ParseCadence reads a review cadence.
func ParseCadence(s string) (Cadence, error) {
	switch c := Cadence(strings.TrimSpace(s)); c {
	case Weekly, Monthly, Quarterly:
		return c, nil
	}
	return NoCadence, Errorf(EINVALID, "review cadence %q is not valid (want weekly, monthly or quarterly)", s)
}

// NextReview returns the date a review is due after a review on last: a
// week, a month or three months later. A month after 31 January is the last
// day of February, not 3 March.
func (c Cadence) NextReview(last timegrain.Date) timegrain.Date {
	switch c {
	case Weekly:
		return timegrain.DateOf(last.In(time.UTC).AddDate(0, 0, 7))
	case Monthly:
		return addMonths(last, 1)
	case Quarterly:
		return addMonths(last, 3)
	}
	return last
}

// addMonths adds n months to d, keeping the day of the month unless the
// target month is shorter, in which case it takes that month's last day.
func addMonths(d timegrain.Date, n int) timegrain.Date {
	first := time.Date(d.Year, d.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	lastDay := first.AddDate(0, 1, -1).Day()
	return timegrain.Date{Year: first.Year(), Month: first.Month(), Day: min(d.Day, lastDay)}
}

// Decision is the outcome of a review.
type Decision string

// Review decisions.
const (
	Keep         Decision = "keep"          // the KPI and its target stay as they are
	AdjustTarget Decision = "adjust_target" // the target changes: the review carries the new target revision
	Retire       Decision = "retire"        // the KPI is no longer judged from the review's date on
)

// ParseDecision reads a review decision.
func ParseDecision(s string) (Decision, error) {
	switch d := Decision(strings.TrimSpace(s)); d {
	case Keep, AdjustTarget, Retire:
		return d, nil
	}
	return "", Errorf(EINVALID, "decision %q is not valid (want keep, adjust_target or retire)", s)
}

// Review is a dated record that a KPI was reviewed and what was decided.
type Review struct {
	ID       int64
	KPI      string
	Date     timegrain.Date
	Reviewer string
	Decision Decision
	Note     string

	// Revision is the target revision an AdjustTarget review creates; it is
	// stored in the same transaction as the review.
	Revision *TargetRevision

	CreatedAt time.Time
}

// History is the stored record of a KPI beyond its definition: the target
// revisions and reviews made through the API, and a review cadence set
// there. Revisions are in the order they were stored, reviews by date.
type History struct {
	Revisions []TargetRevision
	Reviews   []Review
	Cadence   Cadence
}

// LastReview returns the latest review, or nil when there is none.
func (h History) LastReview() *Review {
	var last *Review
	for i := range h.Reviews {
		r := &h.Reviews[i]
		if last == nil || r.Date.String() > last.Date.String() || (r.Date == last.Date && r.ID > last.ID) {
			last = r
		}
	}
	return last
}

// Retired returns the date from which the KPI is retired: the date of its
// latest review when that review decided to retire it. A later review that
// keeps or adjusts the KPI brings it back.
func (h History) Retired() (timegrain.Date, bool) {
	last := h.LastReview()
	if last == nil || last.Decision != Retire {
		return timegrain.Date{}, false
	}
	return last.Date, true
}

// ReviewState is a KPI's review schedule as of a day.
type ReviewState struct {
	Cadence    Cadence
	LastReview *Review
	NextDue    *timegrain.Date // nil without a cadence; the day itself when never reviewed
	Due        bool
}

// ReviewStateOn returns the review schedule of a KPI with cadence c on day
// today. A KPI that was never reviewed is due at once; a retired KPI or one
// without a cadence is never due.
func ReviewStateOn(c Cadence, h History, today timegrain.Date) ReviewState {
	st := ReviewState{Cadence: c, LastReview: h.LastReview()}
	if c == NoCadence {
		return st
	}
	if _, retired := h.Retired(); retired {
		return st
	}

	next := today
	if st.LastReview != nil {
		next = c.NextReview(st.LastReview.Date)
	}
	st.NextDue = &next
	st.Due = next.String() <= today.String()
	return st
}

// CadenceOf returns the review cadence of k: the one its definition sets, or
// else the one stored in h.
func CadenceOf(k *KPI, h History) Cadence {
	if k.Review != NoCadence {
		return k.Review
	}
	return h.Cadence
}

// TargetRevisions returns every target k has had, in the order they apply:
// the definition's target: (from the start of time), its targets: list, then
// the stored revisions of h. Revisions with the same AppliesFrom keep this
// order, so a later one replaces an earlier one from that date.
func TargetRevisions(k *KPI, h History) []TargetRevision {
	var out []TargetRevision
	if k.Target != nil {
		out = append(out, TargetRevision{KPI: k.ID, Target: *k.Target, Source: SourceFile})
	}
	out = append(out, k.Targets...)
	out = append(out, h.Revisions...)
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].AppliesFrom.String() < out[j].AppliesFrom.String()
	})
	return out
}

// TargetOn returns the index in revisions (as TargetRevisions orders them)
// of the revision in force for a period that ends at instant t, taking each
// AppliesFrom as the start of that day in loc (UTC when nil), or -1 when
// none applies yet. A revision applies after the start of its day, not at
// it, so one that applies from the day after a period does not judge it.
func TargetOn(revisions []TargetRevision, t time.Time, loc *time.Location) int {
	return targetAt(revisions, t, loc, false)
}

// TargetInForce returns the index in revisions of the revision in force at
// instant t, such as now, or -1 when none applies yet. Unlike TargetOn, a
// revision is in force from the first instant of its AppliesFrom day.
func TargetInForce(revisions []TargetRevision, t time.Time, loc *time.Location) int {
	return targetAt(revisions, t, loc, true)
}

func targetAt(revisions []TargetRevision, t time.Time, loc *time.Location, atStart bool) int {
	if loc == nil {
		loc = time.UTC
	}
	in := -1
	for i, r := range revisions {
		start := r.AppliesFrom.In(loc)
		if r.AppliesFrom.IsZero() || start.Before(t) || atStart && start.Equal(t) {
			in = i
		}
	}
	return in
}

// ParseChange reads a relative target change written "+20%", "-5%" or
// "20%" as a fraction (0.2). It rejects values below -100 %, which would
// ask for a negative value of a KPI that starts positive.
func ParseChange(s string) (float64, error) {
	c, err := percent(s, false)
	if err != nil {
		return 0, Errorf(EINVALID, "change: %v", err)
	}
	if c < -1 || math.IsNaN(c) {
		return 0, Errorf(EINVALID, "change: %q is below -100%% (want a value such as +20%% or -10%%)", s)
	}
	return c, nil
}
