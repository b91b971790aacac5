package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// testCohortTable has three monthly cohorts: January with periods 0 to 2,
// February with 0 and 1, and an empty March with period 0.
func testCohortTable(loc *time.Location) *engine.CohortTable {
	month := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, loc) }
	return &engine.CohortTable{
		KPI: "m1", Grain: timegrain.Month, Mode: kpi.CalendarRetention, CohortEvent: "signup", Offset: 1,
		From: month(1), To: month(4), Periods: 3,
		Cohorts: []engine.CohortRow{
			{Start: month(1), End: month(2), Size: 3, Retained: []engine.CohortCell{
				{Period: 0, Users: 3, Percent: f(100)}, {Period: 1, Users: 0, Percent: f(0)}, {Period: 2, Users: 2, Percent: f(200.0 / 3)},
			}},
			{Start: month(2), End: month(3), Size: 2, Retained: []engine.CohortCell{
				{Period: 0, Users: 2, Percent: f(100)}, {Period: 1, Users: 1, Percent: f(50)},
			}},
			{Start: month(3), End: month(4), Size: 0, Retained: []engine.CohortCell{{Period: 0}}},
		},
	}
}

func testFunnelReport(loc *time.Location) *engine.FunnelReport {
	return &engine.FunnelReport{
		KPI: "checkout", From: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 2, 1, 0, 0, 0, 0, loc), WindowDays: 7,
		Entered: 6, Completed: 1, InProgress: 1, Dropped: 4, Conversion: f(20),
		Steps: []engine.FunnelStep{
			{Step: 1, Event: "view", Users: 6, ConversionFromFirst: f(100), InProgress: 1, Dropped: 3},
			{Step: 2, Event: "view", Users: 2, ConversionFromPrevious: f(40), ConversionFromFirst: f(40), Dropped: 1},
			{Step: 3, Event: "buy", Users: 1, ConversionFromPrevious: f(50), ConversionFromFirst: f(20)},
		},
	}
}

func newYorkLocation(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load America/New_York: %v (install tzdata)", err)
	}
	return loc
}

func TestWriteCohortsCSV(t *testing.T) {
	loc := newYorkLocation(t)
	k := &kpi.KPI{ID: "m1", Name: "Month 1 retention", Unit: "%"}

	var buf bytes.Buffer
	if err := WriteCohorts(&buf, CSV, k, testCohortTable(loc), loc); err != nil {
		t.Fatal(err)
	}

	want := "cohort,size,0,1,2\n" +
		"2026-01-01,3,100,0,66.666667\n" +
		"2026-02-01,2,100,50,\n" +
		"2026-03-01,0,,,\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteCohortsTable(t *testing.T) {
	loc := newYorkLocation(t)
	k := &kpi.KPI{ID: "m1", Name: "Month 1 retention", Unit: "%"}

	var buf bytes.Buffer
	if err := WriteCohorts(&buf, Table, k, testCohortTable(loc), loc); err != nil {
		t.Fatal(err)
	}

	out := buf.String()
	for _, want := range []string{
		"m1 — Month 1 retention: cohorts by first signup, back on any event, calendar month periods, data to 2026-03-31",
		"66.7%", "50.0%", "–",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table does not contain %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Errorf("table has %d lines, want a title, a header and 3 cohorts:\n%s", len(lines), out)
	}
}

func TestWriteFunnelCSV(t *testing.T) {
	loc := newYorkLocation(t)
	k := &kpi.KPI{ID: "checkout", Name: "Checkout", Unit: "%"}

	var buf bytes.Buffer
	if err := WriteFunnel(&buf, CSV, k, testFunnelReport(loc), loc); err != nil {
		t.Fatal(err)
	}

	want := "step,event,users,conversion_from_previous,conversion_from_first,in_progress,dropped\n" +
		"1,view,6,,100,1,3\n" +
		"2,view,2,40,40,0,1\n" +
		"3,buy,1,50,20,0,0\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteFunnelTableAndJSON(t *testing.T) {
	loc := newYorkLocation(t)
	k := &kpi.KPI{ID: "checkout", Name: "Checkout", Unit: "%"}

	var buf bytes.Buffer
	if err := WriteFunnel(&buf, Table, k, testFunnelReport(loc), loc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"checkout — Checkout: 7-day conversion window, users entering from 2026-01-01 to 2026-01-31",
		"6 entered, 1 completed, 1 in progress, 4 dropped; conversion 20.0%",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table does not contain %q:\n%s", want, buf.String())
		}
	}

	buf.Reset()
	if err := WriteFunnel(&buf, JSON, k, testFunnelReport(loc), loc); err != nil {
		t.Fatal(err)
	}
	var body struct {
		KPI struct {
			ID string `json:"id"`
		} `json:"kpi"`
		Funnel struct {
			Conversion *float64 `json:"conversion"`
			Steps      []struct {
				Event string `json:"event"`
				Users int64  `json:"users"`
			} `json:"steps"`
		} `json:"funnel"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	if body.KPI.ID != "checkout" || body.Funnel.Conversion == nil || *body.Funnel.Conversion != 20 || len(body.Funnel.Steps) != 3 || body.Funnel.Steps[2].Users != 1 {
		t.Errorf("JSON = %s", buf.String())
	}
}
