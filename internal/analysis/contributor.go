package analysis

import "math"

// SegmentChange is one breakdown segment's value in two periods.
type SegmentChange struct {
	Name     string
	Previous *float64
	Current  *float64
}

// Contributor is the segment that moved most in the direction of a change.
type Contributor struct {
	Name       string  `json:"segment"`
	Previous   float64 `json:"previous"`
	Current    float64 `json:"current"`
	Difference float64 `json:"difference"`

	// Share is Difference divided by the sum of all segments' differences: the
	// fraction of the total change this segment accounts for. It is
	// meaningful for additive KPIs (counts and sums), and nil when the
	// segments' differences sum to 0.
	Share *float64 `json:"share"`
}

// TopContributor returns the segment whose difference (Current − Previous)
// is largest in the direction of the total change, which is the sum of all
// segments' differences. When the total is 0, it returns the segment with the
// largest absolute difference. Segments without a value in either period are skipped. It
// returns nil when no segment has both values or every difference is 0.
//
// For a KPI that is not a sum over its segments (an average, a rate) the
// differences are each segment's own change and do not add up to the KPI's.
func TopContributor(segments []SegmentChange) *Contributor {
	total := 0.0
	for _, s := range segments {
		if s.Previous != nil && s.Current != nil {
			total += *s.Current - *s.Previous
		}
	}

	var best *Contributor
	bestScore := 0.0
	for _, s := range segments {
		if s.Previous == nil || s.Current == nil {
			continue
		}
		diff := *s.Current - *s.Previous
		score := math.Abs(diff)
		if total != 0 {
			score = diff * math.Copysign(1, total)
		}
		if score > bestScore {
			bestScore = score
			best = &Contributor{Name: s.Name, Previous: *s.Previous, Current: *s.Current, Difference: diff}
		}
	}
	if best != nil && total != 0 {
		share := best.Difference / total
		best.Share = &share
	}
	return best
}
