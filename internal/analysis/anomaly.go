package analysis

import (
	"math"
	"slices"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// AnomalyThreshold is k, the robust z-score beyond which a period is flagged.
// 3.5 is the cut-off Iglewicz and Hoaglin recommend for the modified z-score
// 0.6745·(x − median)/MAD, which is the score used here. Under a normal
// distribution a value passes it by chance about once in 2,150 (2·(1 − Φ(3.5))).
const AnomalyThreshold = 3.5

// madToSigma scales a median absolute deviation to the standard deviation of
// a normal distribution (1/Φ⁻¹(3/4)), and meanADToSigma does the same for a
// mean absolute deviation (√(π/2)).
const (
	madToSigma    = 1.4826
	meanADToSigma = 1.2533
)

// maxSlopePairs bounds the pairs the Theil–Sen slope is computed from, so a
// long day series costs O(n) memory instead of O(n²).
const maxSlopePairs = 200_000

// Anomaly is a period whose value is far from what its trend and season
// predict.
type Anomaly struct {
	At       time.Time `json:"date"`
	Value    float64   `json:"value"`
	Expected float64   `json:"expected"`

	// Score is the robust z-score of the residual: (residual − median) divided
	// by the residuals' scale. It is positive for a value above the expected one.
	Score float64 `json:"score"`
}

// Anomalies flags the periods whose residual lies more than AnomalyThreshold
// robust standard deviations from the median residual. The residual of a
// value y(t) is
//
//	r(t) = y(t) − b·t − m(season of t)
//
// where b is the Theil–Sen slope and m(s) is the median of y(t) − b·t over
// the periods of season s. The slope is the median of the slopes between
// pairs of periods a whole number of seasonal cycles apart, so that the
// season cancels out.
// The scale is 1.4826·MAD of the residuals, or 1.2533 times their mean
// absolute deviation when the MAD is 0 (more than half the residuals equal).
// When both are 0, nothing is flagged. Medians make the fit robust: a spike
// moves neither the slope nor the seasonal medians.
//
// Seasons are the days of the week at the day grain, so a quiet weekend is
// not flagged, and are used only when every weekday has at least three
// values; other grains are fitted without seasons. A series without weekday
// terms whose values are all positive is analysed as log y(t) instead when
// that fits better (smaller MAD times the median value), so that growth by a
// constant rate is not flagged. Periods without a value are skipped. A
// series with fewer than 7 values returns no anomalies.
//
// NOTE: the trend is one straight line (on y or log y) over the whole
// series, so a series whose growth bends otherwise, such as one that
// saturates, can flag periods at its ends.
func Anomalies(g timegrain.Grain, points []Point) []Anomaly {
	obs := observations(g, points)
	if len(obs) < 7 {
		return nil
	}
	found, spread := anomaliesOf(g, obs)
	if allPositive(obs) && !weeklySeasons(g, obs) {
		// Steady growth by a constant rate curves away from any straight line,
		// which flags its newest periods and hides spikes in a wide spread.
		// On log y such growth is a straight line, so use that scale when the
		// series fits it better: when the MAD of its residuals, scaled back
		// to the values by their median, is the smaller one. Series with
		// weekday terms stay on their own scale, because a weekly pattern of
		// fixed amounts is not one on log y.
		logObs := slices.Clone(obs)
		values := make([]float64, len(obs))
		for i := range logObs {
			values[i] = obs[i].value
			logObs[i].value = math.Log(obs[i].value)
		}
		logFound, logSpread := anomaliesOf(g, logObs)
		if logSpread*median(values) < spread {
			found = logFound
			for i := range found {
				found[i].Value = math.Exp(found[i].Value)
				found[i].Expected = math.Exp(found[i].Expected)
			}
		}
	}

	var out []Anomaly
	for _, a := range found {
		out = append(out, a.Anomaly)
	}
	return out
}

// weeklySeasons reports whether Anomalies fits weekday terms to obs: for a
// day series in which every weekday has at least three values.
func weeklySeasons(g timegrain.Grain, obs []observation) bool {
	return g == timegrain.Day && seasonsCovered(g, obs, 3)
}

// indexedAnomaly is an anomaly with the period index of its observation.
type indexedAnomaly struct {
	Anomaly
	index int
}

// anomaliesOf applies the method of Anomalies to obs, on the scale of their
// values. It also returns 1.4826·MAD of the residuals, which is 0 when more
// than half of them are equal.
func anomaliesOf(g timegrain.Grain, obs []observation) ([]indexedAnomaly, float64) {

	cycle := 1
	seasonal := weeklySeasons(g, obs)
	if seasonal {
		cycle = seasonLength(g)
	}
	slope := theilSenSlope(obs, cycle)

	level := make(map[int]float64)
	bySeason := make(map[int][]float64)
	for _, o := range obs {
		s := 0
		if seasonal {
			s = o.season
		}
		bySeason[s] = append(bySeason[s], o.value-slope*float64(o.index))
	}
	for s, values := range bySeason {
		level[s] = median(values)
	}

	expected := make([]float64, len(obs))
	residuals := make([]float64, len(obs))
	for i, o := range obs {
		s := 0
		if seasonal {
			s = o.season
		}
		expected[i] = slope*float64(o.index) + level[s]
		residuals[i] = o.value - expected[i]
	}

	center := median(residuals)
	deviations := make([]float64, len(residuals))
	for i, r := range residuals {
		deviations[i] = math.Abs(r - center)
	}
	mad := madToSigma * median(deviations)
	scale := mad
	if scale == 0 {
		scale = meanADToSigma * mean(deviations)
	}
	if scale == 0 || math.IsNaN(scale) {
		return nil, mad
	}

	var out []indexedAnomaly
	for i, o := range obs {
		score := (residuals[i] - center) / scale
		if math.Abs(score) > AnomalyThreshold {
			out = append(out, indexedAnomaly{Anomaly{At: o.at, Value: o.value, Expected: expected[i] + center, Score: score}, o.index})
		}
	}
	return out, mad
}

// theilSenSlope returns the median slope between pairs of observations whose
// period indices differ by a positive multiple of cycle, taking the shortest
// lags first until maxSlopePairs pairs are collected. It returns 0 when no
// pair qualifies.
func theilSenSlope(obs []observation, cycle int) float64 {
	byIndex := make(map[int]float64, len(obs))
	for _, o := range obs {
		byIndex[o.index] = o.value
	}
	span := obs[len(obs)-1].index - obs[0].index

	var slopes []float64
	for lag := cycle; lag <= span && len(slopes) < maxSlopePairs; lag += cycle {
		for _, o := range obs {
			if later, ok := byIndex[o.index+lag]; ok {
				slopes = append(slopes, (later-o.value)/float64(lag))
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	return median(slopes)
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func mean(values []float64) float64 {
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values))
}
