package alerting

import (
	"testing"
	"time"
)

func TestTransitionTable(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	min := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ptr := func(v time.Time) *time.Time { return &v }
	timing := Timing{MinDuration: 10 * time.Minute, Cooldown: time.Hour}

	tests := []struct {
		name       string
		cur        Status
		obs        Observation
		timing     Timing
		want       State
		changed    bool
		notify     bool
		suppressed bool
	}{
		{"normal stays normal", Status{State: Normal, Since: t0}, Observation{At: min(5)}, timing, Normal, false, false, false},
		{"empty state is normal", Status{}, Observation{At: min(5)}, timing, Normal, false, false, false},
		{"normal to pending", Status{State: Normal, Since: t0}, Observation{At: min(5), Breached: true}, timing, Pending, true, false, false},
		{"normal to firing without min duration", Status{State: Normal, Since: t0}, Observation{At: min(5), Breached: true}, Timing{}, Firing, true, true, false},
		{"pending before min duration", Status{State: Pending, Since: min(5)}, Observation{At: min(14), Breached: true}, timing, Pending, false, false, false},
		{"pending at min duration fires", Status{State: Pending, Since: min(5)}, Observation{At: min(15), Breached: true}, timing, Firing, true, true, false},
		{"pending back to normal", Status{State: Pending, Since: min(5)}, Observation{At: min(8)}, timing, Normal, true, false, false},
		{"firing stays firing", Status{State: Firing, Since: min(15)}, Observation{At: min(60), Breached: true}, timing, Firing, false, false, false},
		{"firing resolves", Status{State: Firing, Since: min(15), LastNotified: ptr(min(15))}, Observation{At: min(90)}, timing, Resolved, true, true, false},
		{"resolve within cooldown suppressed", Status{State: Firing, Since: min(15), LastNotified: ptr(min(15))}, Observation{At: min(20)}, timing, Resolved, true, false, true},
		{"resolved stays resolved", Status{State: Resolved, Since: min(20)}, Observation{At: min(30)}, timing, Resolved, false, false, false},
		{"resolved to pending", Status{State: Resolved, Since: min(20)}, Observation{At: min(30), Breached: true}, timing, Pending, true, false, false},
		{"firing while muted suppressed", Status{State: Pending, Since: t0}, Observation{At: min(10), Breached: true}, Timing{MinDuration: 10 * time.Minute, MutedUntil: ptr(min(11))}, Firing, true, false, true},
		{"firing after mute ends", Status{State: Pending, Since: t0}, Observation{At: min(11), Breached: true}, Timing{MinDuration: 10 * time.Minute, MutedUntil: ptr(min(11))}, Firing, true, true, false},
		{"no data from firing", Status{State: Firing, Since: t0}, Observation{At: min(5), NoData: true, Breached: true}, timing, NoData, true, false, false},
		{"no data stays", Status{State: NoData, Since: t0}, Observation{At: min(5), NoData: true}, timing, NoData, false, false, false},
		{"no data to normal", Status{State: NoData, Since: t0}, Observation{At: min(5)}, timing, Normal, true, false, false},
		{"no data to pending", Status{State: NoData, Since: t0}, Observation{At: min(5), Breached: true}, timing, Pending, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := Transition(tt.cur, tt.obs, tt.timing)
			if step.Next.State != tt.want {
				t.Errorf("state = %s, want %s", step.Next.State, tt.want)
			}
			if step.Changed != tt.changed {
				t.Errorf("changed = %v, want %v", step.Changed, tt.changed)
			}
			if step.Notify != tt.notify {
				t.Errorf("notify = %v, want %v", step.Notify, tt.notify)
			}
			if (step.Suppressed != "") != tt.suppressed {
				t.Errorf("suppressed = %q, want suppressed %v", step.Suppressed, tt.suppressed)
			}
			if step.Changed && !step.Next.Since.Equal(tt.obs.At) {
				t.Errorf("since = %s, want the observation time %s", step.Next.Since, tt.obs.At)
			}
			if !step.Changed && !step.Next.Since.Equal(tt.cur.Since) {
				t.Errorf("since = %s, want it unchanged at %s", step.Next.Since, tt.cur.Since)
			}
			if step.Notify && (step.Next.LastNotified == nil || !step.Next.LastNotified.Equal(tt.obs.At)) {
				t.Errorf("last notified = %v, want %s", step.Next.LastNotified, tt.obs.At)
			}
		})
	}
}
