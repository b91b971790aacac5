package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// importRelayFoods imports the Relay Foods orders into a fresh database with
// the example's time zone and returns the database path.
func importRelayFoods(t *testing.T) (dbPath, ordersPath string) {
	t.Helper()
	ordersPath = sharedDataFile(t, "relay-foods-orders.csv")
	dbPath = filepath.Join(t.TempDir(), "relay.db")

	code, _, stderr := runCLI(t, "import", "csv", ordersPath, "--event", "order_placed", "--time", "OrderDate",
		"--user", "UserId", "--prop", "revenue=TotalCharges:number", "--time-zone", "America/New_York", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	return dbPath, ordersPath
}

// reportRows runs the report as CSV and returns its rows keyed by KPI and period start.
func reportRows(t *testing.T, args ...string) map[string]map[string][]string {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"report", "--format", "csv"}, args...)...)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("report output is not CSV: %v\n%s", err, stdout)
	}
	if got := strings.Join(records[0], ","); got != "kpi,period_start,value,previous,change,target,status,partial,grain" {
		t.Fatalf("CSV header = %s", got)
	}
	rows := map[string]map[string][]string{}
	for _, rec := range records[1:] {
		if rows[rec[0]] == nil {
			rows[rec[0]] = map[string][]string{}
		}
		rows[rec[0]][rec[1]] = rec
	}
	return rows
}

func parseCell(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("cell %q is not a number", s)
	}
	return f
}

func TestReportRelayFoodsMonthly(t *testing.T) {
	dbPath, ordersPath := importRelayFoods(t)
	_, months := relayFoodsMonths(t, ordersPath)

	rows := reportRows(t, "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dbPath, "--from", "2009-01-01")

	checked := 0
	for month, totals := range months {
		period := month.Format(time.DateOnly)
		row, ok := rows["active_customers"][period]
		if !ok {
			t.Errorf("active_customers has no row for %s", period)
			continue
		}
		if got, want := parseCell(t, row[2]), float64(len(totals.customers)); got != want {
			t.Errorf("active_customers %s = %v, want %v", period, got, want)
		}
		if got := parseCell(t, rows["revenue"][period][2]); math.Abs(got-totals.revenue) > 0.005 {
			t.Errorf("revenue %s = %v, want %.2f", period, got, totals.revenue)
		}
		orders := parseCell(t, rows["orders"][period][2])
		if got, want := parseCell(t, rows["aov"][period][2]), totals.revenue/orders; math.Abs(got-want) > 0.0001 {
			t.Errorf("aov %s = %v, want revenue / orders = %v", period, got, want)
		}
		checked++
	}
	if checked != 15 {
		t.Errorf("checked %d months, want 15 (2009-01 to 2010-03)", checked)
	}

	// Figures computed separately with a Python script over the CSV file.
	published := []struct {
		kpi, period string
		value       float64
	}{
		{"active_customers", "2009-06-01", 71},
		{"active_customers", "2010-01-01", 212},
		{"orders", "2009-11-01", 316},
		{"orders", "2010-02-01", 480},
		{"revenue", "2009-12-01", 19438.55},
		{"revenue", "2010-02-01", 33390.54},
	}
	for _, p := range published {
		if got := parseCell(t, rows[p.kpi][p.period][2]); math.Abs(got-p.value) > 0.005 {
			t.Errorf("%s %s = %v, want %v", p.kpi, p.period, got, p.value)
		}
	}
}

func TestReportRelayFoodsTargetsAndPartial(t *testing.T) {
	dbPath, _ := importRelayFoods(t)

	rows := reportRows(t, "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dbPath, "--from", "2009-01-01")

	// The data ends on 2010-03-09, so March 2010 is partial, and compared with
	// the same days of February.
	march := rows["orders"]["2010-03-01"]
	if march[7] != "true" {
		t.Errorf("March 2010 partial = %s, want true", march[7])
	}
	if rows["orders"]["2010-02-01"][7] != "false" {
		t.Error("February 2010 is marked partial")
	}

	// Revenue runs from 6,800 on 2009-06-01 to 40,000 at the end of
	// 2010-03-31. February 2010 is judged at its end, 2010-03-01: 273 days
	// and 1 hour (EDT to EST) into a path of 304 days.
	feb := rows["revenue"]["2010-02-01"]
	wantTarget := 6800 + 33200*(273*24+1.0)/(304*24)
	if got := parseCell(t, feb[5]); math.Abs(got-wantTarget) > 0.01 {
		t.Errorf("revenue target 2010-02 = %v, want %.2f", got, wantTarget)
	}
	// 33,390.54 is 8.8 % short of 36,619: past at_risk (5 %), within off_track (15 %).
	if feb[6] != "at_risk" {
		t.Errorf("revenue status 2010-02 = %s, want at_risk", feb[6])
	}
	// Change from January (28,225.94) to February (33,390.54), in percent.
	if got, want := parseCell(t, feb[4]), (33390.54-28225.94)/28225.94*100; math.Abs(got-want) > 0.001 {
		t.Errorf("revenue change 2010-02 = %v, want %v", got, want)
	}

	// Months up to the baseline month have no target.
	if got := rows["revenue"]["2009-06-01"]; got[5] != "" || got[6] != "no_target" {
		t.Errorf("revenue 2009-06 target %q status %q, want none and no_target", got[5], got[6])
	}
	// Active customers cannot be pro-rated, so partial March is pending.
	if got := rows["active_customers"]["2010-03-01"][6]; got != "pending" {
		t.Errorf("active_customers status 2010-03 = %s, want pending", got)
	}
}

func TestReportReimportAddsNothing(t *testing.T) {
	dbPath, ordersPath := importRelayFoods(t)
	before := reportRows(t, "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dbPath, "--from", "2009-01-01")

	code, stdout, stderr := runCLI(t, "import", "csv", ordersPath, "--event", "order_placed", "--time", "OrderDate",
		"--user", "UserId", "--prop", "revenue=TotalCharges:number", "--time-zone", "America/New_York", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("second import exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "0 imported") {
		t.Errorf("second import output %q does not say 0 imported", stdout)
	}

	after := reportRows(t, "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dbPath, "--from", "2009-01-01")
	for kpiID, periods := range before {
		for period, row := range periods {
			if got := strings.Join(after[kpiID][period], ","); got != strings.Join(row, ",") {
				t.Errorf("%s %s changed after re-import: %s, was %s", kpiID, period, got, strings.Join(row, ","))
			}
		}
	}
}

func TestReportJSONAndTable(t *testing.T) {
	dbPath, _ := importRelayFoods(t)
	args := []string{"report", "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dbPath,
		"--from", "2009-11-01", "--to", "2009-12-31", "--kpi", "revenue"}

	code, stdout, stderr := runCLI(t, append(args, "--format", "json")...)
	if code != exitOK {
		t.Fatalf("json exit code %d: %s", code, stderr)
	}
	var doc struct {
		KPIs []struct {
			ID     string `json:"id"`
			Series struct {
				Points []struct {
					Value   *float64 `json:"value"`
					Partial bool     `json:"partial"`
				} `json:"points"`
			} `json:"series"`
		} `json:"kpis"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("report JSON: %v", err)
	}
	if len(doc.KPIs) != 1 || len(doc.KPIs[0].Series.Points) != 2 {
		t.Fatalf("report JSON has %d KPIs, want 1 with 2 points", len(doc.KPIs))
	}
	if v := doc.KPIs[0].Series.Points[1].Value; v == nil || math.Abs(*v-19438.55) > 0.005 {
		t.Errorf("December revenue = %v, want 19438.55", v)
	}

	code, stdout, _ = runCLI(t, append(args, "--format", "table")...)
	if code != exitOK {
		t.Fatalf("table exit code %d", code)
	}
	for _, want := range []string{"revenue — Revenue (USD), by month", "$19,439", "2009-12-01"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestReportBadInput(t *testing.T) {
	dbPath, _ := importRelayFoods(t)
	badYAML := writeTempFile(t, "bad.yaml", "kpis:\n  - id: a\n    name: A\n    metric: {kind: formula, formula: revnue / 2}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown kpi", []string{"--kpis", "../../examples/relay-foods/kpis.yaml", "--kpi", "nope"}, `KPI "nope" not found`},
		{"unknown metric in formula", []string{"--kpis", badYAML}, `bad.yaml:4: kpi "a": metric.formula`},
		{"bad grain", []string{"--kpis", "../../examples/relay-foods/kpis.yaml", "--grain", "year"}, `grain "year" is not valid`},
		{"bad date", []string{"--kpis", "../../examples/relay-foods/kpis.yaml", "--from", "2009-13-01"}, `"2009-13-01" is not a date (want YYYY-MM-DD)`},
		{"reversed range", []string{"--kpis", "../../examples/relay-foods/kpis.yaml", "--from", "2010-01-01", "--to", "2009-01-01"}, "--from 2010-01-01 is after --to 2009-01-01"},
		{"bad format", []string{"--kpis", "../../examples/relay-foods/kpis.yaml", "--format", "xml"}, `format "xml" is not valid`},
		{"missing kpis flag", []string{}, "--kpis FILE is required"},
		{"missing database", []string{"--kpis", "../../examples/relay-foods/kpis.yaml", "--db", filepath.Join(t.TempDir(), "none.db")}, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"report", "--db", dbPath}, tt.args...)
			code, _, stderr := runCLI(t, args...)
			if code != exitInvalid {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitInvalid, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
		})
	}
}
