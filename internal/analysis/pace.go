package analysis

import "github.com/northstar-kpi/northstar/internal/kpi"

// PaceStatus is whether a KPI is forecast to reach its target.
type PaceStatus string

// Pace statuses.
const (
	OnPace     PaceStatus = "on_pace"
	BehindPace PaceStatus = "behind_pace"
)

// PaceResult compares a forecast with a target.
type PaceResult struct {
	Status   PaceStatus `json:"status"`
	Target   float64    `json:"target"`
	Forecast float64    `json:"forecast"`

	// Gap is Forecast − Target: positive when the forecast is above the target.
	Gap float64 `json:"gap"`

	// Likely is true when the whole prediction interval is on the target's
	// side, so the status holds at the interval's level.
	Likely bool `json:"likely"`
}

// Pace judges a forecast of the value at the target's date against the
// target: on pace when the forecast value reaches the target in the better
// direction (at or above it for kpi.Up, at or below it for kpi.Down), behind
// pace otherwise.
func Pace(f ForecastResult, target float64, direction kpi.Direction) PaceResult {
	p := PaceResult{Target: target, Forecast: f.Value, Gap: f.Value - target}
	reached := f.Value >= target
	likely := f.Low >= target
	if !reached {
		likely = f.High < target
	}
	if direction == kpi.Down {
		reached = f.Value <= target
		likely = f.High <= target
		if !reached {
			likely = f.Low > target
		}
	}
	p.Status = BehindPace
	if reached {
		p.Status = OnPace
	}
	p.Likely = likely
	return p
}
