package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Chart size in the PNG: 7 × 2.8 inches at gonum/plot's 96 dots per inch,
// 672 × 269 pixels, which fits an e-mail column and an A4 page.
const (
	chartWidth  = 7 * vg.Inch
	chartHeight = 2.8 * vg.Inch
)

// Okabe-Ito colours, as on the web UI's charts, which people with the common
// colour-vision deficiencies can tell apart.
var (
	colorValue    = color.RGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}
	colorTarget   = color.RGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}
	colorForecast = color.RGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}
	colorBand     = color.NRGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0x40}
	colorAnomaly  = color.RGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}
)

// ChartPNG draws an item's series as a PNG line chart: the values (a partial
// last period dashed), the target path dotted, the forecast dashed with its
// prediction interval as a band, and anomalies as diamonds.
func ChartPNG(it Item) ([]byte, error) {
	p := plot.New()
	p.Title.Text = it.KPI.Name
	if p.Title.Text == "" {
		p.Title.Text = it.KPI.ID
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Label.Text = it.KPI.Unit

	points := it.Series.Points
	labels := make([]string, 0, len(points))
	values := make([]*float64, len(points))
	targets := make([]*float64, len(points))
	for i, pt := range points {
		labels = append(labels, periodLabel(pt.Start, it.Series.Grain))
		values[i] = pt.Value
		if !pt.Partial {
			targets[i] = pt.Target
		}
	}

	complete := values
	if n := len(points); n > 0 && points[n-1].Partial {
		complete = values[:n-1]
		if n >= 2 && values[n-2] != nil && values[n-1] != nil {
			if err := addLine(p, "", []xy{{float64(n - 2), *values[n-2]}, {float64(n - 1), *values[n-1]}}, colorValue, dashes); err != nil {
				return nil, err
			}
		}
	}
	if err := addRuns(p, it.KPI.Name, complete, 0, colorValue, nil); err != nil {
		return nil, err
	}
	if err := addRuns(p, "Target path", targets, 0, colorTarget, dots); err != nil {
		return nil, err
	}

	if t := it.Trend; t != nil && len(t.ForecastPath) > 0 {
		first := len(points)
		for i, pt := range points {
			if pt.Start.Equal(t.ForecastPath[0].At) {
				first = i
				break
			}
		}
		var line, low, high []xy
		if first > 0 && values[first-1] != nil {
			v := *values[first-1]
			line, low, high = []xy{{float64(first - 1), v}}, []xy{{float64(first - 1), v}}, []xy{{float64(first - 1), v}}
		}
		for j, f := range t.ForecastPath {
			x := float64(first + j)
			line = append(line, xy{x, f.Value})
			low = append(low, xy{x, f.Low})
			high = append(high, xy{x, f.High})
			if first+j >= len(labels) {
				labels = append(labels, periodLabel(f.At, it.Series.Grain))
			}
		}
		if err := addBand(p, low, high); err != nil {
			return nil, err
		}
		if err := addLine(p, "Forecast", line, colorForecast, dashes); err != nil {
			return nil, err
		}
	}

	if t := it.Trend; t != nil && len(t.Anomalies) > 0 {
		marks := make(plotter.XYs, 0, len(t.Anomalies))
		for _, a := range t.Anomalies {
			for i, pt := range points {
				if pt.Start.Equal(a.At) {
					marks = append(marks, plotter.XY{X: float64(i), Y: a.Value})
				}
			}
		}
		scatter, err := plotter.NewScatter(marks)
		if err != nil {
			return nil, err
		}
		scatter.GlyphStyle = draw.GlyphStyle{Color: colorAnomaly, Radius: vg.Points(4), Shape: draw.PyramidGlyph{}}
		p.Add(scatter)
		p.Legend.Add("Anomaly", scatter)
	}

	p.X.Tick.Marker = labelTicks(labels)
	p.Add(plotter.NewGrid())

	w, err := p.WriterTo(chartWidth, chartHeight, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Line styles.
var (
	dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	dots   = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
)

type xy struct{ x, y float64 }

// addRuns draws values as lines from x offset, one line per run of periods
// with a value, so that a period without a value leaves a gap instead of a
// drop to 0. Only the first run gets the legend entry name.
func addRuns(p *plot.Plot, name string, values []*float64, offset int, c color.Color, dash []vg.Length) error {
	var run []xy
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := addLine(p, name, run, c, dash)
		name, run = "", nil
		return err
	}
	for i, v := range values {
		if v == nil {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		run = append(run, xy{float64(offset + i), *v})
	}
	return flush()
}

// addLine draws one polyline, and a point for a line of one period.
func addLine(p *plot.Plot, name string, points []xy, c color.Color, dash []vg.Length) error {
	data := make(plotter.XYs, len(points))
	for i, pt := range points {
		data[i] = plotter.XY{X: pt.x, Y: pt.y}
	}
	line, scatter, err := plotter.NewLinePoints(data)
	if err != nil {
		return err
	}
	line.Color = c
	line.Width = vg.Points(1.5)
	line.Dashes = dash
	scatter.Color = c
	scatter.Radius = vg.Points(1.5)
	if len(points) > 1 {
		scatter.Radius = 0
	}
	p.Add(line, scatter)
	if name != "" {
		p.Legend.Add(name, line)
	}
	return nil
}

// addBand fills the area between low and high, the prediction interval.
func addBand(p *plot.Plot, low, high []xy) error {
	ring := make(plotter.XYs, 0, len(low)+len(high))
	for _, pt := range low {
		ring = append(ring, plotter.XY{X: pt.x, Y: pt.y})
	}
	for i := len(high) - 1; i >= 0; i-- {
		ring = append(ring, plotter.XY{X: high[i].x, Y: high[i].y})
	}
	band, err := plotter.NewPolygon(ring)
	if err != nil {
		return err
	}
	band.Color = colorBand
	band.LineStyle.Width = 0
	p.Add(band)
	p.Legend.Add("Prediction interval", band)
	return nil
}

// labelTicks marks at most six periods on the x axis with their labels.
func labelTicks(labels []string) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		n := len(labels)
		if n == 0 {
			return nil
		}
		step := int(math.Ceil(float64(n) / 6))
		var ticks []plot.Tick
		for i := 0; i < n; i++ {
			if i%step == 0 {
				ticks = append(ticks, plot.Tick{Value: float64(i), Label: labels[i]})
			} else {
				ticks = append(ticks, plot.Tick{Value: float64(i)})
			}
		}
		return ticks
	})
}

// periodLabel names a period for an axis: the date of a day or week, the
// month, or the quarter.
func periodLabel(start time.Time, g timegrain.Grain) string {
	switch g {
	case timegrain.Month:
		return start.Format("Jan 2006")
	case timegrain.Quarter:
		return fmt.Sprintf("Q%d %d", (int(start.Month())-1)/3+1, start.Year())
	default:
		return start.Format(time.DateOnly)
	}
}
