package store

import (
	"math"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// ValidateEvent returns an EINVALID error when e lacks a field every store
// needs: a name, a distinct_id, a timestamp, a source and a message id.
func ValidateEvent(e Event) error {
	switch {
	case strings.TrimSpace(e.Name) == "":
		return kpi.Errorf(kpi.EINVALID, "event name is empty")
	case strings.TrimSpace(e.DistinctID) == "":
		return kpi.Errorf(kpi.EINVALID, "event %q has no distinct_id", e.Name)
	case e.Timestamp.IsZero():
		return kpi.Errorf(kpi.EINVALID, "event %q has no timestamp", e.Name)
	case e.Source == "" || e.MessageID == "":
		return kpi.Errorf(kpi.EINVALID, "event %q has no source or message id", e.Name)
	}
	return nil
}

// ValidateIdentify returns an EINVALID error when id has no distinct_id or
// no timestamp.
func ValidateIdentify(id Identify) error {
	switch {
	case strings.TrimSpace(id.DistinctID) == "":
		return kpi.Errorf(kpi.EINVALID, "identify has no distinct_id")
	case id.Timestamp.IsZero():
		return kpi.Errorf(kpi.EINVALID, "identify of %q has no timestamp", id.DistinctID)
	}
	return nil
}

// ValidateAlias returns an EINVALID error when a lacks either id or its
// timestamp.
func ValidateAlias(a Alias) error {
	switch {
	case strings.TrimSpace(a.PreviousID) == "":
		return kpi.Errorf(kpi.EINVALID, "alias to %q has no previous id", a.DistinctID)
	case strings.TrimSpace(a.DistinctID) == "":
		return kpi.Errorf(kpi.EINVALID, "alias of %q has no distinct_id", a.PreviousID)
	case a.Timestamp.IsZero():
		return kpi.Errorf(kpi.EINVALID, "alias of %q to %q has no timestamp", a.PreviousID, a.DistinctID)
	}
	return nil
}

// ValidateMeasurement returns an EINVALID error when m lacks a series, a
// timestamp, a source or a message id, or when its value is NaN or
// infinite, which neither SQL nor JSON can store.
func ValidateMeasurement(m Measurement) error {
	switch {
	case strings.TrimSpace(m.Series) == "":
		return kpi.Errorf(kpi.EINVALID, "measurement series is empty")
	case m.Timestamp.IsZero():
		return kpi.Errorf(kpi.EINVALID, "measurement of %q has no timestamp", m.Series)
	case m.Source == "" || m.MessageID == "":
		return kpi.Errorf(kpi.EINVALID, "measurement of %q has no source or message id", m.Series)
	case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
		return kpi.Errorf(kpi.EINVALID, "measurement of %q has value %v (want a finite number)", m.Series, m.Value)
	}
	return nil
}
