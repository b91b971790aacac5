// Package report renders KPI series for people and programs: an aligned
// table for a terminal, CSV, and JSON.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/trend"
)

// Formats. HTML and PDF are documents built by Digest; the others are
// written by Write.
const (
	Table = "table"
	CSV   = "csv"
	JSON  = "json"
	HTML  = "html"
	PDF   = "pdf"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (string, error) {
	switch s {
	case Table, CSV, JSON, HTML, PDF:
		return s, nil
	}
	return "", kpi.Errorf(kpi.EINVALID, "format %q is not valid (want table, csv, json, html or pdf)", s)
}

// IsDocument reports whether format is a document format, html or pdf.
func IsDocument(format string) bool { return format == HTML || format == PDF }

// Item is one KPI with its computed series and, when computed, the series'
// trend analysis.
type Item struct {
	KPI    *kpi.KPI
	Series *engine.Series
	Trend  *trend.Trend

	// Annotations are the notes dated in the series' periods, on the KPI
	// and on every KPI, by date.
	Annotations []kpi.Annotation

	// Review is the KPI's review schedule, or nil when it is not known.
	Review *kpi.ReviewState
}

// CSVHeader lists the CSV columns in order.
// grain is last so that the columns before it keep their places.
var CSVHeader = []string{"kpi", "period_start", "value", "previous", "change", "target", "status", "partial", "grain"}

// Write renders items to w in format. Period starts are dates in loc.
func Write(w io.Writer, format string, items []Item, loc *time.Location) error {
	switch format {
	case CSV:
		return writeCSV(w, items, loc)
	case JSON:
		return writeJSON(w, items)
	default:
		return writeTable(w, items, loc)
	}
}

func writeCSV(w io.Writer, items []Item, loc *time.Location) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, it := range items {
		for _, p := range it.Series.Points {
			row := []string{
				it.KPI.ID,
				p.Start.In(loc).Format(time.DateOnly),
				number(p.Value),
				number(p.Previous),
				number(p.Change),
				number(p.Target),
				string(p.Status),
				strconv.FormatBool(p.Partial),
				string(it.Series.Grain),
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// number formats v for CSV: empty for no value, otherwise rounded to six
// decimals so that float noise such as 16.760000000000002 does not show.
func number(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(math.Round(*v*1e6)/1e6, 'f', -1, 64)
}

type jsonItem struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Unit      string         `json:"unit"`
	Direction kpi.Direction  `json:"direction"`
	Series    *engine.Series `json:"series"`
	Trend     *trend.Trend   `json:"trend,omitempty"`
	Review    *jsonReview    `json:"review,omitempty"`

	Annotations []jsonAnnotation `json:"annotations"`
}

// jsonReview is a KPI's review schedule in the JSON report.
type jsonReview struct {
	Cadence    kpi.Cadence `json:"cadence"`
	Due        bool        `json:"due"`
	NextDue    string      `json:"next_due,omitempty"`
	LastReview string      `json:"last_review,omitempty"` // YYYY-MM-DD
}

func newJSONReview(st *kpi.ReviewState) *jsonReview {
	if st == nil {
		return nil
	}
	out := &jsonReview{Cadence: st.Cadence, Due: st.Due}
	if st.NextDue != nil {
		out.NextDue = st.NextDue.String()
	}
	if st.LastReview != nil {
		out.LastReview = st.LastReview.Date.String()
	}
	return out
}

// reviewLine describes a review schedule in words: "review: monthly, due
// (last review 2027-02-18)". It is empty without a cadence.
func reviewLine(st *kpi.ReviewState) string {
	if st == nil || st.Cadence == kpi.NoCadence {
		return ""
	}
	line := "review: " + string(st.Cadence)
	switch {
	case st.Due:
		line += ", due"
	case st.NextDue != nil:
		line += ", next by " + st.NextDue.String()
	}
	if st.LastReview != nil {
		line += " (last review " + st.LastReview.Date.String() + ")"
	} else {
		line += " (never reviewed)"
	}
	return line
}

func writeJSON(w io.Writer, items []Item) error {
	out := make([]jsonItem, 0, len(items))
	for _, it := range items {
		out = append(out, jsonItem{ID: it.KPI.ID, Name: it.KPI.Name, Unit: it.KPI.Unit, Direction: it.KPI.Direction, Series: it.Series, Trend: it.Trend,
			Annotations: newJSONAnnotations(it.Annotations), Review: newJSONReview(it.Review)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"kpis": out})
}

func writeTable(w io.Writer, items []Item, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for i, it := range items {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		title := it.KPI.Name
		if it.KPI.Unit != "" {
			title += " (" + it.KPI.Unit + ")"
		}
		fmt.Fprintf(tw, "%s — %s, by %s\n", it.KPI.ID, title, it.Series.Grain)
		if line := reviewLine(it.Review); line != "" {
			fmt.Fprintln(tw, line)
		}
		fmt.Fprintln(tw, "period\tvalue\tprevious\tchange\ttarget\tstatus\t")
		for _, p := range it.Series.Points {
			period := p.Start.In(loc).Format(time.DateOnly)
			if p.Partial {
				period += " (partial)"
			}
			value := Value(p.Value, it.KPI.Unit)
			if p.Value == nil && p.NoValueReason != "" {
				value = "– (" + p.NoValueReason + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n",
				period, value, Value(p.Previous, it.KPI.Unit), Change(p.Change, it.Series.ChangeUnit),
				Value(p.Target, it.KPI.Unit), p.Status.Label())
		}
		writeAnnotationLines(tw, it.Annotations)
		if it.Trend != nil {
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, line := range TrendLines(it.KPI, it.Series, it.Trend, loc) {
				fmt.Fprintln(w, line)
			}
		}
	}
	return tw.Flush()
}

// Value formats v for people: thousands separators, at most two decimals,
// and the unit's symbol for currencies and percentages. It returns "–" for
// no value.
func Value(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	digits := 2
	if math.Abs(*v) >= 1000 || *v == math.Trunc(*v) {
		digits = 0
	}
	sign := ""
	if *v < 0 {
		sign = "−"
	}
	s := groupThousands(strconv.FormatFloat(math.Abs(*v), 'f', digits, 64))
	switch strings.ToUpper(unit) {
	case "USD":
		return sign + "$" + s
	case "EUR":
		return sign + "€" + s
	case "GBP":
		return sign + "£" + s
	case "%", "PERCENT":
		return sign + s + "%"
	}
	return sign + s
}

// Change formats a change in percent or percentage points with its sign.
func Change(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(*v), 'f', 1, 64) + unit
	switch {
	case *v > 0:
		return "+" + s
	case *v < 0:
		return "−" + s
	}
	return s
}

// groupThousands puts commas between groups of three digits of a
// non-negative decimal number.
func groupThousands(s string) string {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		return b.String() + "." + frac
	}
	return b.String()
}
