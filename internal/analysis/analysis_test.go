package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func TestChange(t *testing.T) {
	tests := []struct {
		name            string
		value, previous float64
		points          bool
		want            float64
		wantOK          bool
	}{
		{"increase", 110, 100, false, 10, true},
		{"decrease", 90, 100, false, -10, true},
		{"to zero", 0, 5, false, -100, true},
		{"doubling", 40, 20, false, 100, true},
		// A negative previous value is scaled by its magnitude, so rising
		// from -10 to -5 is +50 % and falling to -15 is -50 %.
		{"negative previous rises", -5, -10, false, 50, true},
		{"negative previous falls", -15, -10, false, -50, true},
		{"from 0 to 0", 0, 0, false, 0, true},
		{"from 0 to 5", 5, 0, false, 0, false},
		{"from 0 to -5", -5, 0, false, 0, false},
		{"points increase", 27.5, 25, true, 2.5, true},
		{"points decrease", 20, 25, true, -5, true},
		{"points from 0", 5, 0, true, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Change(tt.value, tt.previous, tt.points)
			if ok != tt.wantOK {
				t.Fatalf("Change(%g, %g, %v) ok = %v, want %v", tt.value, tt.previous, tt.points, ok, tt.wantOK)
			}
			if ok && math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Change(%g, %g, %v) = %g, want %g", tt.value, tt.previous, tt.points, got, tt.want)
			}
		})
	}
}

func TestPathValue(t *testing.T) {
	t0 := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(2026, time.January, 11, 0, 0, 0, 0, time.UTC) // ten days later

	tests := []struct {
		name   string
		t0, t1 time.Time
		at     time.Time
		want   float64
	}{
		{"before t0", t0, t1, t0.AddDate(0, 0, -3), 100},
		{"at t0", t0, t1, t0, 100},
		{"quarter way", t0, t1, t0.Add(60 * time.Hour), 125},
		{"midpoint", t0, t1, t0.AddDate(0, 0, 5), 150},
		{"at t1", t0, t1, t1, 200},
		{"after t1", t0, t1, t1.AddDate(1, 0, 0), 200},
		{"t1 equals t0", t0, t0, t0.AddDate(0, 0, -1), 200},
		{"t1 before t0", t1, t0, t0.AddDate(0, 0, 5), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PathValue(100, 200, tt.t0, tt.t1, tt.at)
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("PathValue at %s = %g, want %g", tt.at.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}

func TestPathValueDownward(t *testing.T) {
	t0 := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.AddDate(0, 0, 10)

	got := PathValue(50, 30, t0, t1, t0.AddDate(0, 0, 5))

	if math.Abs(got-40) > 1e-9 {
		t.Errorf("PathValue at midpoint from 50 to 30 = %g, want 40", got)
	}
}

func TestJudge(t *testing.T) {
	def := kpi.DefaultThresholds // 5 % and 15 %
	tests := []struct {
		name            string
		value, expected float64
		dir             kpi.Direction
		th              kpi.Thresholds
		want            kpi.Status
	}{
		{"up on path", 100, 100, kpi.Up, def, kpi.OnTrack},
		{"up ahead", 120, 100, kpi.Up, def, kpi.OnTrack},
		{"up 5% short is on track", 95, 100, kpi.Up, def, kpi.OnTrack},
		{"up just over 5% short", 94.9, 100, kpi.Up, def, kpi.AtRisk},
		{"up 15% short is at risk", 85, 100, kpi.Up, def, kpi.AtRisk},
		{"up just over 15% short", 84.9, 100, kpi.Up, def, kpi.OffTrack},
		{"up at zero", 0, 100, kpi.Up, def, kpi.OffTrack},

		{"down on path", 100, 100, kpi.Down, def, kpi.OnTrack},
		{"down below path", 80, 100, kpi.Down, def, kpi.OnTrack},
		{"down 5% over is on track", 105, 100, kpi.Down, def, kpi.OnTrack},
		{"down just over 5% over", 105.1, 100, kpi.Down, def, kpi.AtRisk},
		{"down 15% over is at risk", 115, 100, kpi.Down, def, kpi.AtRisk},
		{"down just over 15% over", 115.1, 100, kpi.Down, def, kpi.OffTrack},

		{"expected 0 up, value 0", 0, 0, kpi.Up, def, kpi.OnTrack},
		{"expected 0 up, ahead", 1, 0, kpi.Up, def, kpi.OnTrack},
		{"expected 0 up, behind", -1, 0, kpi.Up, def, kpi.OffTrack},
		{"expected 0 down, value 0", 0, 0, kpi.Down, def, kpi.OnTrack},
		{"expected 0 down, above", 0.01, 0, kpi.Down, def, kpi.OffTrack},
		{"expected 0 down, below", -1, 0, kpi.Down, def, kpi.OnTrack},

		// A negative expected value scales by its magnitude: -105 is 5 % short of -100.
		{"negative expected 5% short", -105, -100, kpi.Up, def, kpi.OnTrack},
		{"negative expected 10% short", -110, -100, kpi.Up, def, kpi.AtRisk},

		{"custom 10% short", 90, 100, kpi.Up, kpi.Thresholds{AtRisk: 0.10, OffTrack: 0.20}, kpi.OnTrack},
		{"custom 11% short", 89, 100, kpi.Up, kpi.Thresholds{AtRisk: 0.10, OffTrack: 0.20}, kpi.AtRisk},
		{"custom 21% short", 79, 100, kpi.Up, kpi.Thresholds{AtRisk: 0.10, OffTrack: 0.20}, kpi.OffTrack},
		{"zero thresholds any shortfall", 99.9, 100, kpi.Up, kpi.Thresholds{}, kpi.OffTrack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(tt.value, tt.expected, tt.dir, tt.th)
			if got != tt.want {
				t.Errorf("Judge(%g, %g, %s) = %s, want %s", tt.value, tt.expected, tt.dir, got, tt.want)
			}
		})
	}
}
