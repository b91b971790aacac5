package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/report"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// breakdownCSVHeader lists the CSV columns of report --breakdown.
var breakdownCSVHeader = []string{"kpi", "period_start", "segment", "value"}

// breakdownRequest is the property, limit, grain, range and format of report --breakdown.
type breakdownRequest struct {
	property string
	limit    int
	grain    timegrain.Grain
	r        engine.Range
	format   string
	explain  bool // print on stderr which path computed each breakdown

	// unvalued are the KPI file's dimensions that no indexed event has a
	// value for, printed with explain.
	unvalued []string
}

// writeBreakdowns computes the breakdown of each KPI in ids and prints them
// in req.format, with the engine's warnings on stderr.
func writeBreakdowns(ctx context.Context, g *globals, eng *engine.Engine, defs *kpi.Definitions, ids []string, req breakdownRequest) error {
	if req.explain {
		for _, dim := range req.unvalued {
			fmt.Fprintf(g.stderr, "explain: no event in the index has a value for the dimension %q that the KPI file declares; check its spelling\n", dim)
		}
	}
	items := make([]*engine.Breakdown, 0, len(ids))
	for _, id := range ids {
		grain := req.grain
		if grain == "" {
			k, err := defs.KPI(id)
			if err != nil {
				return err
			}
			grain = k.Grain
		}
		b, err := eng.Breakdown(ctx, defs, id, req.property, req.limit, grain, req.r)
		if err != nil {
			return fmt.Errorf("kpi %q: %w", id, err)
		}
		for _, w := range b.Warnings {
			fmt.Fprintf(g.stderr, "warning: kpi %q: %s\n", id, w)
		}
		if req.explain {
			fmt.Fprintf(g.stderr, "explain: kpi %q by %s: computed by the %s path\n", id, req.property, pathName(b.Path))
			for _, note := range b.PathNotes {
				fmt.Fprintf(g.stderr, "explain: kpi %q by %s: SQL because %s\n", id, req.property, note)
			}
		}
		items = append(items, b)
	}

	loc := defs.Workspace.Location
	switch req.format {
	case report.CSV:
		return writeBreakdownCSV(g.stdout, items, loc)
	case report.JSON:
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"breakdowns": items})
	default:
		return writeBreakdownTable(g.stdout, defs, items, loc)
	}
}

// writeBreakdownCSV writes one row per period and segment, the segments of
// a period in rank order.
func writeBreakdownCSV(w io.Writer, items []*engine.Breakdown, loc *time.Location) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(breakdownCSVHeader); err != nil {
		return err
	}
	for _, b := range items {
		for i, p := range b.Periods {
			for _, s := range b.Segments {
				row := []string{b.KPI, p.Start.In(loc).Format(time.DateOnly), s.Name, csvNumber(s.Values[i].Value)}
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeBreakdownTable writes one aligned table per KPI: a row per segment,
// with its total over the range and a column per period.
func writeBreakdownTable(w io.Writer, defs *kpi.Definitions, items []*engine.Breakdown, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for i, b := range items {
		k, err := defs.KPI(b.KPI)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(tw)
		}
		title := k.Name
		if k.Unit != "" {
			title += " (" + k.Unit + ")"
		}
		fmt.Fprintf(tw, "%s — %s, by %s and %s (top %d, the rest in %s)\n", b.KPI, title, b.Grain, b.Property, b.Limit, engine.OtherSegment)

		fmt.Fprint(tw, "segment\ttotal\t")
		for _, p := range b.Periods {
			label := p.Start.In(loc).Format(time.DateOnly)
			if p.Partial {
				label += " (partial)"
			}
			fmt.Fprint(tw, label+"\t")
		}
		fmt.Fprintln(tw)

		if len(b.Segments) == 0 {
			fmt.Fprintln(tw, "(no events)\t\t")
		}
		for _, s := range b.Segments {
			name := s.Name
			if s.Pooled > 0 {
				name = s.Name + ", " + plural(s.Pooled, "segment")
			}
			fmt.Fprintf(tw, "%s\t%s\t", name, report.Value(s.Total.Value, k.Unit))
			for _, v := range s.Values {
				fmt.Fprint(tw, report.Value(v.Value, k.Unit)+"\t")
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

// csvNumber formats v like the report's CSV: empty for no value, otherwise
// rounded to six decimals.
func csvNumber(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(math.Round(*v*1e6)/1e6, 'f', -1, 64)
}

// checkBreakdownFlags checks that --breakdown, when given, names a property
// and comes with --kpi, and that --limit comes with --breakdown and is in
// range.
func checkBreakdownFlags(cmd *cobra.Command, breakdown string, limit int, only []string) error {
	switch {
	case cmd.Flags().Changed("breakdown") && strings.TrimSpace(breakdown) == "":
		return &usageError{fmt.Errorf("--breakdown %q is empty (want an event property name, as in --breakdown country)", breakdown)}
	case breakdown == "" && cmd.Flags().Changed("limit"):
		return &usageError{errors.New("--limit needs --breakdown PROPERTY")}
	case breakdown != "" && len(only) == 0:
		return &usageError{errors.New("--breakdown needs the KPI to break down, as in --kpi ID")}
	case limit < 1 || limit > engine.MaxBreakdownLimit:
		return &usageError{fmt.Errorf("--limit %d is out of range (want 1 to %d segments)", limit, engine.MaxBreakdownLimit)}
	}
	return nil
}
