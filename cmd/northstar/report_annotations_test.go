package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// TestReportAnnotationsAndUIKPIs checks that the report lists the notes
// dated in its range and reports KPIs made in the UI.
func TestReportAnnotationsAndUIKPIs(t *testing.T) {
	dbPath, _ := importRelayFoods(t)
	ctx := context.Background()

	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []kpi.Annotation{
		{KPI: "revenue", Kind: kpi.Release, Date: timegrain.Date{Year: 2009, Month: 12, Day: 5}, Note: "Holiday menu"},
		{Kind: kpi.External, Date: timegrain.Date{Year: 2009, Month: 11, Day: 20}, Note: "Snow storm"},
		{KPI: "revenue", Kind: kpi.Incident, Date: timegrain.Date{Year: 2010, Month: 2, Day: 1}, Note: "Outside the range"},
	} {
		if _, err := db.CreateAnnotation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	err = db.CreateKPI(ctx, store.StoredKPI{ID: "order_count", Name: "Orders placed", Direction: kpi.Up,
		Definition: []byte(`{"id": "order_count", "name": "Orders placed", "metric": {"kind": "count", "event": "order_placed"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	args := []string{"report", "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dbPath,
		"--from", "2009-11-01", "--to", "2009-12-31", "--kpi", "revenue", "--kpi", "order_count"}
	code, stdout, stderr := runCLI(t, append(args, "--format", "table")...)
	if code != exitOK {
		t.Fatalf("table exit code %d: %s", code, stderr)
	}
	for _, want := range []string{"note 2009-12-05 release: Holiday menu", "note 2009-11-20 external factor (all KPIs): Snow storm", "order_count — Orders placed, by month"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Outside the range") {
		t.Errorf("table lists a note dated after the range:\n%s", stdout)
	}

	code, stdout, stderr = runCLI(t, append(args, "--format", "json")...)
	if code != exitOK {
		t.Fatalf("json exit code %d: %s", code, stderr)
	}
	var doc struct {
		KPIs []struct {
			ID          string `json:"id"`
			Annotations []struct {
				KPIID *string `json:"kpi_id"`
				Note  string  `json:"note"`
			} `json:"annotations"`
		} `json:"kpis"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.KPIs) != 2 || doc.KPIs[0].ID != "revenue" || len(doc.KPIs[0].Annotations) != 2 || len(doc.KPIs[1].Annotations) != 1 {
		t.Errorf("report JSON = %s", stdout)
	}
}
