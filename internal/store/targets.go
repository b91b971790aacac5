package store

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// ValidateTargetRevision returns an EINVALID error when r cannot be stored.
// A revision needs a KPI, a by date, an applies_from date, a reason, and
// either a finite value of 0 or more or a change of -100 % or more.
// Milestones need finite values of 0 or more, and dates in increasing order
// before the by date.
func ValidateTargetRevision(r kpi.TargetRevision) error {
	t := r.Target
	switch {
	case strings.TrimSpace(r.KPI) == "":
		return kpi.Errorf(kpi.EINVALID, "target revision has no KPI")
	case (t.Value == nil) == (t.Change == nil):
		return kpi.Errorf(kpi.EINVALID, "kpi %q: a target needs a value or a change, not both and not neither", r.KPI)
	case t.Value != nil && !validAmount(*t.Value):
		return kpi.Errorf(kpi.EINVALID, "kpi %q: target value %v is not valid (want a finite number, 0 or more)", r.KPI, *t.Value)
	case t.Change != nil && (math.IsNaN(*t.Change) || math.IsInf(*t.Change, 0) || *t.Change < -1):
		return kpi.Errorf(kpi.EINVALID, "kpi %q: target change %v is not valid (want a fraction of -1 or more, such as 0.2 for +20%%)", r.KPI, *t.Change)
	case t.By.IsZero():
		return kpi.Errorf(kpi.EINVALID, "kpi %q: target has no by date", r.KPI)
	case r.AppliesFrom.IsZero():
		return kpi.Errorf(kpi.EINVALID, "kpi %q: target revision has no applies_from date", r.KPI)
	case strings.TrimSpace(r.Reason) == "":
		return kpi.Errorf(kpi.EINVALID, "kpi %q: target revision has no reason (say why the target changes)", r.KPI)
	}

	previous := ""
	for i, m := range t.Milestones {
		switch {
		case !validAmount(m.Value):
			return kpi.Errorf(kpi.EINVALID, "kpi %q: milestone %d: value %v is not valid (want a finite number, 0 or more)", r.KPI, i, m.Value)
		case m.By.IsZero():
			return kpi.Errorf(kpi.EINVALID, "kpi %q: milestone %d has no by date", r.KPI, i)
		case m.By.String() >= t.By.String():
			return kpi.Errorf(kpi.EINVALID, "kpi %q: milestone %d: %s is not before the target date %s", r.KPI, i, m.By, t.By)
		case previous != "" && m.By.String() <= previous:
			return kpi.Errorf(kpi.EINVALID, "kpi %q: milestone %d: %s is not after the milestone before it (%s)", r.KPI, i, m.By, previous)
		}
		previous = m.By.String()
	}
	return nil
}

func validAmount(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }

// ValidateReview returns an EINVALID error when r cannot be stored: it needs
// a KPI, a date, a reviewer and a known decision, and a target revision
// exactly when it adjusts the target.
func ValidateReview(r kpi.Review) error {
	switch {
	case strings.TrimSpace(r.KPI) == "":
		return kpi.Errorf(kpi.EINVALID, "review has no KPI")
	case r.Date.IsZero():
		return kpi.Errorf(kpi.EINVALID, "kpi %q: review has no date", r.KPI)
	case strings.TrimSpace(r.Reviewer) == "":
		return kpi.Errorf(kpi.EINVALID, "kpi %q: review has no reviewer", r.KPI)
	}
	if _, err := kpi.ParseDecision(string(r.Decision)); err != nil {
		return err
	}
	if r.Decision == kpi.AdjustTarget && r.Revision == nil {
		return kpi.Errorf(kpi.EINVALID, "kpi %q: a review that adjusts the target needs the new target", r.KPI)
	}
	if r.Decision != kpi.AdjustTarget && r.Revision != nil {
		return kpi.Errorf(kpi.EINVALID, "kpi %q: only a review with decision adjust_target takes a new target", r.KPI)
	}
	if r.Revision != nil {
		if r.Revision.KPI != r.KPI {
			return kpi.Errorf(kpi.EINVALID, "review of kpi %q carries a target of kpi %q", r.KPI, r.Revision.KPI)
		}
		return ValidateTargetRevision(*r.Revision)
	}
	return nil
}

// milestoneJSON is a milestone as stored in target_revisions.milestones.
type milestoneJSON struct {
	By    string  `json:"by"`
	Value float64 `json:"value"`
}

// EncodeMilestones returns the stored form of ms.
func EncodeMilestones(ms []kpi.Milestone) string {
	out := make([]milestoneJSON, len(ms))
	for i, m := range ms {
		out[i] = milestoneJSON{By: m.By.String(), Value: m.Value}
	}
	b, _ := json.Marshal(out) // strings and finite floats always encode
	return string(b)
}

// DecodeMilestones reads the stored form of milestones.
func DecodeMilestones(s string) ([]kpi.Milestone, error) {
	var in []milestoneJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode milestones %q: %w", s, err)
	}
	out := make([]kpi.Milestone, len(in))
	for i, m := range in {
		d, err := timegrain.ParseDate(m.By)
		if err != nil {
			return nil, fmt.Errorf("decode milestones: %w", err)
		}
		out[i] = kpi.Milestone{By: d, Value: m.Value}
	}
	return out, nil
}

// ParseDateColumn reads a date column.
func ParseDateColumn(s string) (timegrain.Date, error) {
	d, err := timegrain.ParseDate(s)
	if err != nil {
		return d, fmt.Errorf("stored date: %w", err)
	}
	return d, nil
}
