package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

// FunnelCSVHeader lists the CSV columns of a funnel's steps in order.
var FunnelCSVHeader = []string{"step", "event", "users", "conversion_from_previous", "conversion_from_first", "in_progress", "dropped"}

// CohortCSVHeader returns the CSV columns of a cohort table: cohort, size,
// and one column per period, "0" to periods-1, holding the percent retained.
func CohortCSVHeader(periods int) []string {
	header := []string{"cohort", "size"}
	for k := range periods {
		header = append(header, strconv.Itoa(k))
	}
	return header
}

// WriteCohorts renders a retention KPI's cohort table to w in format. Cohort
// starts are dates in loc.
func WriteCohorts(w io.Writer, format string, k *kpi.KPI, t *engine.CohortTable, loc *time.Location) error {
	switch format {
	case CSV:
		return writeCohortsCSV(w, t, loc)
	case JSON:
		return writeDetailJSON(w, k, "cohorts", t)
	default:
		return writeCohortsTable(w, k, t, loc)
	}
}

// WriteFunnel renders a funnel KPI's steps to w in format.
func WriteFunnel(w io.Writer, format string, k *kpi.KPI, f *engine.FunnelReport, loc *time.Location) error {
	switch format {
	case CSV:
		return writeFunnelCSV(w, f)
	case JSON:
		return writeDetailJSON(w, k, "funnel", f)
	default:
		return writeFunnelTable(w, k, f, loc)
	}
}

func writeCohortsCSV(w io.Writer, t *engine.CohortTable, loc *time.Location) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CohortCSVHeader(t.Periods)); err != nil {
		return err
	}
	for _, c := range t.Cohorts {
		row := []string{c.Start.In(loc).Format(time.DateOnly), strconv.FormatInt(c.Size, 10)}
		for k := range t.Periods {
			cell := ""
			if k < len(c.Retained) {
				cell = number(c.Retained[k].Percent)
			}
			row = append(row, cell)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeFunnelCSV(w io.Writer, f *engine.FunnelReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(FunnelCSVHeader); err != nil {
		return err
	}
	for _, s := range f.Steps {
		row := []string{
			strconv.Itoa(s.Step),
			s.Event,
			strconv.FormatInt(s.Users, 10),
			number(s.ConversionFromPrevious),
			number(s.ConversionFromFirst),
			strconv.FormatInt(s.InProgress, 10),
			strconv.FormatInt(s.Dropped, 10),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// detailJSON is one KPI with its cohort table or funnel steps.
type detailJSON struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Unit      string        `json:"unit"`
	Direction kpi.Direction `json:"direction"`
}

func writeDetailJSON(w io.Writer, k *kpi.KPI, field string, detail any) error {
	out := map[string]any{
		"kpi": detailJSON{ID: k.ID, Name: k.Name, Unit: k.Unit, Direction: k.Direction},
		field: detail,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeCohortsTable(w io.Writer, k *kpi.KPI, t *engine.CohortTable, loc *time.Location) error {
	returning := "any event"
	if t.ReturnEvent != "" {
		returning = t.ReturnEvent
	}
	fmt.Fprintf(w, "%s — %s: cohorts by first %s, back on %s, %s %s periods, data to %s\n",
		k.ID, k.Name, t.CohortEvent, returning, t.Mode, t.Grain, lastDay(t.To, loc))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "cohort\tsize\t")
	for k := range t.Periods {
		fmt.Fprintf(tw, "%d\t", k)
	}
	fmt.Fprintln(tw)

	for _, c := range t.Cohorts {
		cohort := c.Start.In(loc).Format(time.DateOnly)
		if c.Partial {
			cohort += " (partial)"
		}
		fmt.Fprintf(tw, "%s\t%d\t", cohort, c.Size)
		for k := range t.Periods {
			cell := ""
			if k < len(c.Retained) {
				cell = percentCell(c.Retained[k].Percent)
			}
			fmt.Fprintf(tw, "%s\t", cell)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func writeFunnelTable(w io.Writer, k *kpi.KPI, f *engine.FunnelReport, loc *time.Location) error {
	fmt.Fprintf(w, "%s — %s: %d-day conversion window, users entering from %s to %s\n",
		k.ID, k.Name, f.WindowDays, f.From.In(loc).Format(time.DateOnly), lastDay(f.To, loc))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tevent\tusers\tfrom previous\tfrom first\tin progress\tdropped\t")
	for _, s := range f.Steps {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%d\t\n", s.Step, s.Event, s.Users,
			percentCell(s.ConversionFromPrevious), percentCell(s.ConversionFromFirst), s.InProgress, s.Dropped)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	_, err := fmt.Fprintf(w, "%d entered, %d completed, %d in progress, %d dropped; conversion %s (users in progress left out)\n",
		f.Entered, f.Completed, f.InProgress, f.Dropped, percentCell(f.Conversion))
	return err
}

// percentCell formats a percentage with one decimal, or "–" for none.
func percentCell(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(math.Round(*v*10)/10, 'f', 1, 64) + "%"
}

// lastDay returns the date of the last instant before the exclusive end.
func lastDay(end time.Time, loc *time.Location) string {
	return end.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
}
