package analysis

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Forecast methods, as named in ForecastResult.Method. The log methods fit
// the logarithm of the values, so their trend is a constant growth rate.
const (
	MethodLinear            = "ols-linear-trend"
	MethodLinearSeasonal    = "ols-linear-trend-seasonal"
	MethodLogLinear         = "ols-log-linear-trend"
	MethodLogLinearSeasonal = "ols-log-linear-trend-seasonal"
)

// DefaultLevel is the coverage of a forecast's prediction interval when the
// caller gives none.
const DefaultLevel = 0.95

// ForecastResult is a forecast of the value of one period.
type ForecastResult struct {
	// At is the start of the forecast period: the period of the requested
	// date at the series' grain.
	At    time.Time `json:"at"`
	Value float64   `json:"value"`

	// Low and High bound the prediction interval at Level.
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Level float64 `json:"level"`

	// Method is MethodLinear or MethodLinearSeasonal.
	Method string `json:"method"`

	// Observations is the number of periods with a value that the fit used.
	Observations int `json:"observations"`
}

// Forecast predicts the value of the period of grain g that contains at, from
// the points with a value, by ordinary least squares on a linear trend plus
// one dummy variable per season:
//
//	y(t) = a + b·t + s(season of t) + ε,   ε independent, normal, constant variance
//
// where t numbers the periods and seasons are the days of the week at the day
// grain, months of the year at the month grain and quarters at the quarter
// grain. The prediction interval is the textbook one for a new observation:
//
//	ŷ₀ ± t(1−(1−level)/2; n−p) · s · √(1 + x₀ᵀ(XᵀX)⁻¹x₀)
//
// with s² = SSE/(n−p) and p parameters. This suits short business series:
// it needs no contiguous data (periods without a value are left out of the
// fit, never read as zero), gives an exact interval under its assumptions,
// and has few parameters to estimate.
//
// Seasonal terms are fitted only when every season has at least two values
// and n−p ≥ 2, so at least 14 days, 24 months or 8 quarters. Otherwise the
// fit is the trend alone, which needs at least 3 values. With fewer values
// Forecast returns an error wrapping ErrTooFewValues. level is the interval's
// coverage in (0, 1); 0 means DefaultLevel.
//
// When every value is positive, the same model is also fitted to log y(t),
// which makes the trend a constant growth rate and the seasonal terms
// factors. The fit with the smaller leave-one-out error is used, and a tie
// keeps the linear fit. That error is PRESS: the sum of the squared errors of
// each value predicted by the fit without it, measured on the values themselves.
// The log fit's value and interval are exp of the log-scale ones: the
// interval keeps its coverage, and the value is the forecast's median.
//
// The trend is assumed straight (or of constant growth) over the whole
// series: a series whose growth bends otherwise, such as one that
// saturates, gets intervals that are too narrow far ahead.
func Forecast(g timegrain.Grain, points []Point, at time.Time, level float64) (*ForecastResult, error) {
	m, err := FitForecast(g, points, level)
	if err != nil {
		return nil, err
	}
	f := m.Predict(at)
	return &f, nil
}

// ForecastModel is a fitted forecast that predicts any period: fit once with
// FitForecast, then call Predict for each period to draw.
type ForecastModel struct {
	grain  timegrain.Grain
	origin time.Time // the first point's start, where period numbers start
	level  float64
	fit    *olsFit
	n      int
	t      float64 // the Student's t quantile of the interval
}

// FitForecast fits the model that Forecast describes to points. It returns
// the errors Forecast returns.
func FitForecast(g timegrain.Grain, points []Point, level float64) (*ForecastModel, error) {
	if level == 0 {
		level = DefaultLevel
	}
	if !(level > 0 && level < 1) {
		return nil, fmt.Errorf("prediction interval level %g is invalid (want a fraction between 0 and 1, such as 0.95)", level)
	}
	obs := observations(g, points)
	if len(obs) < 3 {
		return nil, fmt.Errorf("forecast needs at least 3 periods with a value, the series has %d: %w", len(obs), ErrTooFewValues)
	}

	seasonal := seasonsCovered(g, obs, 2) && len(obs)-(1+seasonLength(g)) >= 2
	fit, err := fitTrend(g, obs, seasonal, false)
	if err != nil {
		return nil, err
	}
	if allPositive(obs) {
		logFit, err := fitTrend(g, obs, seasonal, true)
		if err == nil && logFit.press < fit.press*(1-1e-9) {
			fit = logFit
		}
	}

	df := float64(len(obs) - fit.params)
	return &ForecastModel{
		grain:  g,
		origin: points[0].Start,
		level:  level,
		fit:    fit,
		n:      len(obs),
		t:      distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-level)/2),
	}, nil
}

// Predict returns the forecast of the period of the model's grain that
// contains at, with its prediction interval.
func (m *ForecastModel) Predict(at time.Time) ForecastResult {
	target := observation{
		at:     at,
		index:  periodIndex(m.grain, m.origin, at) - periodIndex(m.grain, m.origin, m.origin),
		season: seasonOf(m.grain, at),
	}
	x0 := m.fit.row(target)
	value := mat.Dot(x0, m.fit.coef)
	var xv mat.VecDense
	xv.MulVec(m.fit.inverse, x0)
	leverage := mat.Dot(x0, &xv)
	half := m.t * m.fit.stderr * math.Sqrt(1+leverage)

	low, high := value-half, value+half
	method := MethodLinear
	if m.fit.logScale {
		value, low, high = math.Exp(value), math.Exp(low), math.Exp(high)
		method = MethodLogLinear
	}
	if m.fit.seasonal {
		method += "-seasonal"
	}
	return ForecastResult{
		At:           at,
		Value:        value,
		Low:          low,
		High:         high,
		Level:        m.level,
		Method:       method,
		Observations: m.n,
	}
}

// olsFit is a least-squares fit of a trend with optional seasonal dummies.
type olsFit struct {
	grain    timegrain.Grain
	seasonal bool
	center   float64 // mean period index, subtracted for a better-conditioned XᵀX
	params   int
	coef     *mat.VecDense
	inverse  *mat.SymDense // (XᵀX)⁻¹
	stderr   float64       // s, the residual standard error
	logScale bool          // whether the fit is of log y

	// press is the sum of the squared leave-one-out errors, measured on the
	// values (not their logs), or +Inf when a value decides its own fit.
	press float64
}

// fitTrend fits the trend with seasonal terms when seasonal is set, and
// falls back to the trend alone when the seasonal fit is singular.
func fitTrend(g timegrain.Grain, obs []observation, seasonal, logScale bool) (*olsFit, error) {
	fit, err := fitOLS(g, obs, seasonal, logScale)
	if err != nil && seasonal {
		fit, err = fitOLS(g, obs, false, logScale)
	}
	return fit, err
}

func allPositive(obs []observation) bool {
	for _, o := range obs {
		if !(o.value > 0) {
			return false
		}
	}
	return true
}

// row returns the regression row of o: 1, the centred period index, and one
// dummy for each season after the first.
func (f *olsFit) row(o observation) *mat.VecDense {
	r := mat.NewVecDense(f.params, nil)
	r.SetVec(0, 1)
	r.SetVec(1, float64(o.index)-f.center)
	if f.seasonal && o.season > 0 {
		r.SetVec(1+o.season, 1)
	}
	return r
}

func fitOLS(g timegrain.Grain, obs []observation, seasonal, logScale bool) (*olsFit, error) {
	f := &olsFit{grain: g, seasonal: seasonal, params: 2, logScale: logScale}
	if seasonal {
		f.params = 1 + seasonLength(g)
	}
	for _, o := range obs {
		f.center += float64(o.index)
	}
	f.center /= float64(len(obs))

	n := len(obs)
	x := mat.NewDense(n, f.params, nil)
	y := mat.NewVecDense(n, nil)
	for i, o := range obs {
		x.SetRow(i, f.row(o).RawVector().Data)
		if logScale {
			y.SetVec(i, math.Log(o.value))
		} else {
			y.SetVec(i, o.value)
		}
	}

	var xtx mat.SymDense
	xtx.SymOuterK(1, x.T())
	var chol mat.Cholesky
	if ok := chol.Factorize(&xtx); !ok {
		return nil, fmt.Errorf("forecast failed: the periods with a value do not determine a trend (all in one period?): %w", ErrTooFewValues)
	}
	f.inverse = mat.NewSymDense(f.params, nil)
	if err := chol.InverseTo(f.inverse); err != nil {
		return nil, fmt.Errorf("forecast failed: %w", err)
	}

	var xty mat.VecDense
	xty.MulVec(x.T(), y)
	f.coef = mat.NewVecDense(f.params, nil)
	f.coef.MulVec(f.inverse, &xty)

	var fitted, residual mat.VecDense
	fitted.MulVec(x, f.coef)
	residual.SubVec(y, &fitted)
	sse := mat.Dot(&residual, &residual)
	f.stderr = math.Sqrt(sse / float64(n-f.params))

	// The leave-one-out prediction of row i is y_i − e_i/(1 − h_ii), where
	// h_ii = x_iᵀ(XᵀX)⁻¹x_i, so no refit is needed.
	for i, o := range obs {
		row := x.RowView(i)
		var xv mat.VecDense
		xv.MulVec(f.inverse, row)
		leverage := mat.Dot(row, &xv)
		if 1-leverage < 1e-9 {
			f.press = math.Inf(1)
			break
		}
		loo := y.AtVec(i) - residual.AtVec(i)/(1-leverage)
		if logScale {
			loo = math.Exp(loo)
		}
		f.press += (o.value - loo) * (o.value - loo)
	}
	return f, nil
}
