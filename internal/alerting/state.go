// Package alerting evaluates alert rules on KPIs: it turns a KPI's series
// into an observation, moves each rule through its state machine, records
// every transition, and sends notifications through internal/notify.
package alerting

import (
	"fmt"
	"time"
)

// State is an alert rule's position in its state machine.
type State string

// States of an alert rule.
const (
	// Normal means the condition does not hold.
	Normal State = "normal"
	// Pending means the condition holds, but for less than the rule's
	// minimum duration.
	Pending State = "pending"
	// Firing means the condition has held for at least the minimum duration.
	Firing State = "firing"
	// Resolved means the rule fired and its condition no longer holds. It
	// stays resolved until the condition holds again.
	Resolved State = "resolved"
	// NoData means the KPI had no value to judge at the last evaluation.
	NoData State = "no_data"
)

// Observation is the result of one evaluation of a rule's condition.
type Observation struct {
	At       time.Time
	Breached bool     // the condition holds
	NoData   bool     // there was no value to judge; Breached is then ignored
	Value    *float64 // the value the condition was judged on, if any
}

// Timing holds the rule settings that the state machine applies.
type Timing struct {
	MinDuration time.Duration // how long the condition must hold before pending becomes firing
	Cooldown    time.Duration // the minimum time between two notifications
	MutedUntil  *time.Time    // no notifications before this time
}

// Status is a rule's state with what the state machine needs to remember.
type Status struct {
	State        State
	Since        time.Time  // when State was entered
	LastNotified *time.Time // the last notification sent
}

// Step is the outcome of one transition.
type Step struct {
	Next    Status
	Changed bool // Next.State differs from the previous state

	// Notify is set when the transition entered firing or resolved and a
	// notification should be sent. Suppressed then names why it is not sent
	// (muted, cooldown) when Notify is false.
	Notify     bool
	Suppressed string
}

// Transition returns the status that follows cur after obs. It is a pure
// function of its arguments:
//
//   - no data moves any state to no_data;
//   - while the condition holds, normal, resolved and no_data move to
//     pending, and pending moves to firing once it has lasted MinDuration
//     (at once when MinDuration is 0); firing stays firing;
//   - while the condition does not hold, pending and no_data move to normal,
//     firing moves to resolved, and normal and resolved stay.
//
// Entering firing or resolved requests a notification, unless the rule is
// muted at obs.At or its last notification was less than Cooldown ago.
func Transition(cur Status, obs Observation, t Timing) Step {
	if cur.State == "" {
		cur.State = Normal
	}
	next := nextState(cur, obs, t)

	step := Step{Next: cur}
	if next == cur.State {
		return step
	}
	step.Changed = true
	step.Next.State = next
	step.Next.Since = obs.At

	if next != Firing && next != Resolved {
		return step
	}
	switch {
	case t.MutedUntil != nil && obs.At.Before(*t.MutedUntil):
		step.Suppressed = fmt.Sprintf("muted until %s", t.MutedUntil.UTC().Format(time.RFC3339))
	case cur.LastNotified != nil && obs.At.Sub(*cur.LastNotified) < t.Cooldown:
		step.Suppressed = fmt.Sprintf("cooldown of %s since the notification at %s",
			t.Cooldown, cur.LastNotified.UTC().Format(time.RFC3339))
	default:
		step.Notify = true
		at := obs.At
		step.Next.LastNotified = &at
	}
	return step
}

// nextState returns the state that follows cur after obs.
func nextState(cur Status, obs Observation, t Timing) State {
	if obs.NoData {
		return NoData
	}

	if obs.Breached {
		switch cur.State {
		case Firing:
			return Firing
		case Pending:
			if obs.At.Sub(cur.Since) >= t.MinDuration {
				return Firing
			}
			return Pending
		default:
			if t.MinDuration <= 0 {
				return Firing
			}
			return Pending
		}
	}

	switch cur.State {
	case Firing:
		return Resolved
	case Resolved:
		return Resolved
	default:
		return Normal
	}
}
