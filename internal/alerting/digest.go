package alerting

import (
	"bytes"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
)

// DigestItem is one KPI of a digest with its series.
type DigestItem struct {
	KPI    *kpi.KPI
	Series *engine.Series
	Err    string // the reason the series could not be computed, when Series is nil
}

// NOTE: this is a plain digest (value, change, status, target and a line
// chart per KPI). The trend analysis digest with forecasts, due reviews,
// annotations and feedback replaces it once the report package has one.

// BuildDigest renders items as a message: a text part, an HTML part with
// one PNG line chart per KPI embedded by content id, and a JSON payload.
func BuildDigest(title string, items []DigestItem, now time.Time, loc *time.Location) (notify.Message, error) {
	if loc == nil {
		loc = time.UTC
	}
	msg := notify.Message{Subject: fmt.Sprintf("[Northstar] %s, %s", title, now.In(loc).Format("Mon 2 Jan 2006"))}

	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\n", msg.Subject)
	rows := make([]digestRow, 0, len(items))
	payload := make([]map[string]any, 0, len(items))
	for i, it := range items {
		row := newDigestRow(it)
		if it.Series != nil && len(it.Series.Points) > 1 {
			data, err := lineChartPNG(it.Series, 480, 120)
			if err != nil {
				return notify.Message{}, fmt.Errorf("chart of KPI %s: %w", it.KPI.ID, err)
			}
			row.ContentID = fmt.Sprintf("chart-%d", i+1)
			msg.Images = append(msg.Images, notify.Image{ContentID: row.ContentID, Name: it.KPI.ID + ".png", PNG: data})
		}
		rows = append(rows, row)

		fmt.Fprintf(&text, "%s: %s", row.Name, row.Value)
		if row.Change != "" {
			fmt.Fprintf(&text, " (%s)", row.Change)
		}
		fmt.Fprintf(&text, ", %s", row.Status)
		if row.Target != "" {
			fmt.Fprintf(&text, ", target %s", row.Target)
		}
		text.WriteString("\n")
		payload = append(payload, map[string]any{"kpi_id": it.KPI.ID, "name": row.Name, "value": row.raw, "status": row.statusCode})
	}
	msg.Text = text.String()
	msg.Payload = map[string]any{"event": "report", "title": title, "at": now.UTC(), "kpis": payload}

	var html bytes.Buffer
	if err := digestTemplate.Execute(&html, map[string]any{"Title": msg.Subject, "Rows": rows}); err != nil {
		return notify.Message{}, fmt.Errorf("render digest: %w", err)
	}
	msg.HTML = html.String()
	return msg, nil
}

type digestRow struct {
	Name, Value, Change, Status, Target, ContentID string

	raw        *float64
	statusCode kpi.Status
}

func newDigestRow(it DigestItem) digestRow {
	row := digestRow{Name: it.KPI.Name, Value: "–", Status: kpi.NoData.Label(), statusCode: kpi.NoData}
	if it.Series == nil {
		row.Status = "not computed: " + it.Err
		return row
	}
	// The latest complete period: the current one is partial, and a day
	// that has just begun has no value yet.
	var p *engine.Point
	if i := pointIndex(it.Series, PeriodComplete); i >= 0 {
		p = &it.Series.Points[i]
	}
	if p == nil {
		return row
	}
	row.statusCode = p.Status
	row.Status = row.statusCode.Label()

	if p.Value != nil {
		row.raw = p.Value
		row.Value = formatValue(*p.Value, it.KPI.Unit)
	}
	if p.Change != nil {
		unit := "%"
		if it.Series.ChangeUnit == "pp" {
			unit = " points"
		}
		row.Change = fmt.Sprintf("%+.1f%s", *p.Change, unit)
	}
	if p.Target != nil {
		row.Target = formatValue(*p.Target, it.KPI.Unit)
	}
	return row
}

var digestTemplate = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Title}}</h2>
<table cellpadding="6" style="border-collapse: collapse">
<tr><th align="left">KPI</th><th align="right">Value</th><th align="right">Change</th><th align="left">Status</th><th align="right">Target</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td align="right">{{.Value}}</td><td align="right">{{.Change}}</td><td>{{.Status}}</td><td align="right">{{.Target}}</td></tr>
{{if .ContentID}}<tr><td colspan="5"><img src="cid:{{.ContentID}}" alt="{{.Name}} over time" width="480" height="120"></td></tr>{{end}}
{{end}}</table>
</body></html>
`))

// lineChartPNG draws the series' values as a line on a white background.
// Periods without a value break the line.
func lineChartPNG(series *engine.Series, width, height int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range series.Points {
		if p.Value != nil {
			lo, hi = math.Min(lo, *p.Value), math.Max(hi, *p.Value)
		}
	}
	if !math.IsInf(lo, 1) {
		if hi == lo {
			lo, hi = lo-1, hi+1
		}
		const margin = 6
		n := len(series.Points)
		xy := func(i int, v float64) (int, int) {
			x := margin + i*(width-2*margin)/max(n-1, 1)
			y := height - margin - int((v-lo)/(hi-lo)*float64(height-2*margin))
			return x, y
		}
		line := color.RGBA{R: 0x25, G: 0x63, B: 0xeb, A: 0xff}
		for i := 1; i < n; i++ {
			a, b := series.Points[i-1].Value, series.Points[i].Value
			if a == nil || b == nil {
				continue
			}
			x0, y0 := xy(i-1, *a)
			x1, y1 := xy(i, *b)
			drawLine(img, x0, y0, x1, y1, line)
		}
	}

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// drawLine draws a two-pixel-thick line with Bresenham's algorithm.
func drawLine(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		img.SetRGBA(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
