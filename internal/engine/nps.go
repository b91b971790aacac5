package engine

import (
	"context"
	"math"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// Score bounds and classes of a Net Promoter Score answer.
const (
	minScore      = 0
	maxScore      = 10
	promoterScore = 9 // promoters answer 9 or 10
	passiveScore  = 7 // passives answer 7 or 8, detractors 0 to 6
)

// npsCounts are the answers of one segment or interval, by class.
type npsCounts struct {
	promoters, passives, detractors int64
}

func (c *npsCounts) add(o npsCounts) {
	c.promoters += o.promoters
	c.passives += o.passives
	c.detractors += o.detractors
}

// nps computes the Net Promoter Score of the 0–10 answers in m.Property on
// m.Event events that pass m.Filters. Each event is one response:
//
//	NPS = 100 × (promoters − detractors) ÷ responses
//
// where promoters answer 9 or 10, passives 7 or 8, and detractors 0 to 6, so
// the score runs from −100 to 100. A fractional answer falls in the class of
// the range it is in: 8.5 is a passive, 6.5 a detractor. Answers that are
// not numbers, or are outside 0–10, are skipped with a warning; events
// without the property are left out. The point's details hold promoters,
// passives, detractors and responses. An interval without responses has no
// value.
func (ev *evaluator) nps(ctx context.Context, m kpi.Metric) ([]value, error) {
	if len(ev.intervals) == 0 {
		return nil, nil
	}
	scanner, err := ev.scanner(m.Kind)
	if err != nil {
		return nil, err
	}

	instants := make([]time.Time, 0, 2*len(ev.intervals))
	for _, iv := range ev.intervals {
		instants = append(instants, iv.Start, iv.End)
	}
	tl := newTimeline(instants)
	segments := make([]npsCounts, tl.segments())

	var (
		events, invalid int
		example         string
	)
	q := store.ScanQuery{
		Events: eventNames(m.Event), Filters: m.Filters, From: tl.first(), To: tl.last(),
		Property: m.Property, Keys: []string{m.Property},
	}
	err = scanner.ScanEvents(ctx, q, func(row store.EventRow) error {
		seg := tl.segment(row.Timestamp)
		if seg < 0 {
			return nil
		}
		events++

		text := row.Keys[0]
		switch {
		case !row.HasValue && text == "":
			return nil // no answer on this event
		case !row.HasValue || row.Value < minScore || row.Value > maxScore || math.IsNaN(row.Value):
			invalid++
			if example == "" {
				example = text
			}
			return nil
		}

		c := &segments[seg]
		switch {
		case row.Value >= promoterScore:
			c.promoters++
		case row.Value >= passiveScore:
			c.passives++
		default:
			c.detractors++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	if events == 0 {
		ev.warnNoEvents(ctx, m)
	}
	if invalid > 0 {
		ev.warnf("skipped %d %q events whose %q is not a number from 0 to 10, such as %q (import scores with --prop NAME=COLUMN:score to reject them at import)",
			invalid, m.Event, m.Property, example)
	}

	out := make([]value, len(ev.intervals))
	answered := int64(0)
	for i, iv := range ev.intervals {
		var c npsCounts
		from, to := tl.span(iv)
		for _, s := range segments[from:to] {
			c.add(s)
		}

		responses := c.promoters + c.passives + c.detractors
		answered += responses
		details := map[string]float64{
			"promoters":  float64(c.promoters),
			"passives":   float64(c.passives),
			"detractors": float64(c.detractors),
			"responses":  float64(responses),
		}
		if responses == 0 {
			out[i] = value{reason: "no responses with a score in the period", details: details}
			continue
		}
		out[i] = value{v: 100 * float64(c.promoters-c.detractors) / float64(responses), ok: true, details: details}
	}

	if events > 0 && answered == 0 && invalid == 0 {
		ev.warnf("no %q event in this range has a %q property (import it with --prop NAME=COLUMN:score)", m.Event, m.Property)
	}
	return out, nil
}
