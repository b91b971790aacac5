package report

import (
	"fmt"
	"io"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// jsonAnnotation is an annotation in the JSON report. KPIID is null for a
// note on every KPI.
type jsonAnnotation struct {
	ID     int64   `json:"id"`
	KPIID  *string `json:"kpi_id"`
	Kind   string  `json:"kind"`
	Date   string  `json:"date"`
	Note   string  `json:"note"`
	Author string  `json:"author"`
}

func newJSONAnnotations(list []kpi.Annotation) []jsonAnnotation {
	out := make([]jsonAnnotation, 0, len(list))
	for _, a := range list {
		j := jsonAnnotation{ID: a.ID, Kind: string(a.Kind), Date: a.Date.String(), Note: a.Note, Author: a.Author}
		if a.KPI != "" {
			id := a.KPI
			j.KPIID = &id
		}
		out = append(out, j)
	}
	return out
}

// writeAnnotationLines lists annotations below a KPI's table, one a line:
// "note 2026-03-04 incident (all KPIs): Payment outage". The lines hold no
// tab, so the table's column widths ignore them.
func writeAnnotationLines(w io.Writer, list []kpi.Annotation) {
	for _, a := range list {
		scope := ""
		if a.KPI == "" {
			scope = " (all KPIs)"
		}
		fmt.Fprintf(w, "note %s %s%s: %s\n", a.Date, a.Kind.Label(), scope, a.Note)
	}
}
