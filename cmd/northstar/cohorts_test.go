package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// relayRetentionKPIs are monthly cohorts of Relay Foods customers by first
// order, back when they order again.
const relayRetentionKPIs = `workspace:
  name: Relay Foods
  time_zone: America/New_York
  week_start: monday
kpis:
  - id: monthly_retention
    name: Month 1 retention
    unit: "%"
    grain: month
    metric: {kind: retention, cohort_event: order_placed, period: month, offset: 1}
  - id: orders
    name: Orders
    grain: month
    metric: {kind: count, event: order_placed}
`

// relayCohorts is the cohort table of the Relay Foods orders computed in
// plain SQL: the size of each cohort month, and the customers of each cohort
// who order in each month.
type relayCohorts struct {
	size   map[string]int            // by cohort month, YYYY-MM
	active map[string]map[string]int // by cohort month, then order month
}

// queryRelayCohorts computes the cohorts with SQL over the imported events.
// Orders are dated, so each timestamp is a New York midnight, which is
// 04:00 or 05:00 UTC on the same date: the UTC month is the New York month.
func queryRelayCohorts(t *testing.T, dbPath string) relayCohorts {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var notMidnight int
	err = db.QueryRow(`SELECT count(*) FROM events WHERE (ts / 1000000) % 86400 NOT IN (4 * 3600, 5 * 3600)`).Scan(&notMidnight)
	if err != nil {
		t.Fatal(err)
	}
	if notMidnight != 0 {
		t.Fatalf("%d orders are not at midnight in New York; the month arithmetic below needs them to be", notMidnight)
	}

	const firsts = `WITH firsts AS (
		SELECT distinct_id, strftime('%Y-%m', min(ts) / 1000000, 'unixepoch') AS cohort
		FROM events WHERE name = 'order_placed' GROUP BY distinct_id)`
	out := relayCohorts{size: map[string]int{}, active: map[string]map[string]int{}}

	rows, err := db.Query(firsts + ` SELECT cohort, count(*) FROM firsts GROUP BY cohort`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var cohort string
		var n int
		if err := rows.Scan(&cohort, &n); err != nil {
			t.Fatal(err)
		}
		out.size[cohort] = n
	}
	rows.Close()

	rows, err = db.Query(firsts + `, active AS (
		SELECT DISTINCT distinct_id, strftime('%Y-%m', ts / 1000000, 'unixepoch') AS month
		FROM events WHERE name = 'order_placed')
		SELECT f.cohort, a.month, count(*) FROM firsts f JOIN active a USING (distinct_id) GROUP BY f.cohort, a.month`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var cohort, month string
		var n int
		if err := rows.Scan(&cohort, &month, &n); err != nil {
			t.Fatal(err)
		}
		if out.active[cohort] == nil {
			out.active[cohort] = map[string]int{}
		}
		out.active[cohort][month] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// addMonths returns the month k months after month, both YYYY-MM.
func addMonths(t *testing.T, month string, k int) string {
	t.Helper()
	var y, m int
	if _, err := fmt.Sscanf(month, "%d-%d", &y, &m); err != nil {
		t.Fatalf("month %q: %v", month, err)
	}
	n := y*12 + (m - 1) + k
	return fmt.Sprintf("%04d-%02d", n/12, n%12+1)
}

func TestReportRelayFoodsCohortTable(t *testing.T) {
	dbPath, _ := importRelayFoods(t)
	kpiPath := writeTempFile(t, "kpis.yaml", relayRetentionKPIs)
	want := queryRelayCohorts(t, dbPath)

	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--kpi", "monthly_retention",
		"--format", "csv", "--from", "2009-01-01", "--to", "2010-03-09")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("report output is not CSV: %v\n%s", err, stdout)
	}

	// The data ends on 2010-03-09, so the last month that is over is
	// February 2010: January 2009's cohort has periods 0 to 13.
	wantHeader := "cohort,size,0,1,2,3,4,5,6,7,8,9,10,11,12,13"
	if got := strings.Join(records[0], ","); got != wantHeader {
		t.Fatalf("CSV header = %s, want %s", got, wantHeader)
	}
	if len(records) != 1+15 {
		t.Fatalf("got %d cohorts, want 15 (January 2009 to March 2010)", len(records)-1)
	}

	checked := 0
	for _, rec := range records[1:] {
		cohort := rec[0][:7]
		if rec[0] != cohort+"-01" {
			t.Errorf("cohort %q does not start on the first of a month", rec[0])
		}
		size := want.size[cohort]
		if got := parseCell(t, rec[1]); got != float64(size) {
			t.Errorf("cohort %s size = %v, want %d", cohort, got, size)
		}

		for k := range 14 {
			month := addMonths(t, cohort, k)
			cell := rec[2+k]
			if month > "2010-02" {
				if cell != "" {
					t.Errorf("cohort %s period %d (%s) = %q, want empty: the month is not over", cohort, k, month, cell)
				}
				continue
			}
			wantPercent := 100 * float64(want.active[cohort][month]) / float64(size)
			if got := parseCell(t, cell); math.Abs(got-wantPercent) > 1e-6 {
				t.Errorf("cohort %s period %d (%s) = %v %%, want %v %% (%d of %d)", cohort, k, month, got, wantPercent, want.active[cohort][month], size)
			}
			checked++
		}
	}
	// 14 + 13 + ... + 1 cells for the cohorts of January 2009 to February 2010.
	if checked != 105 {
		t.Errorf("checked %d cells, want 105", checked)
	}
	if want.size["2009-01"] == 0 || want.size["2009-02"] == 0 || want.size["2009-03"] == 0 {
		t.Errorf("the first three cohorts are empty in SQL: %v", want.size)
	}
}

func TestReportRelayFoodsRetentionSeries(t *testing.T) {
	dbPath, _ := importRelayFoods(t)
	kpiPath := writeTempFile(t, "kpis.yaml", relayRetentionKPIs)
	want := queryRelayCohorts(t, dbPath)

	// Two KPIs: the usual series, with month 1 retention per cohort month.
	rows := reportRows(t, "--kpis", kpiPath, "--db", dbPath, "--kpi", "monthly_retention", "--kpi", "orders",
		"--from", "2009-01-01", "--to", "2010-03-09")

	checked := 0
	for cohort, size := range want.size {
		row, ok := rows["monthly_retention"][cohort+"-01"]
		if !ok {
			t.Errorf("monthly_retention has no row for %s", cohort)
			continue
		}
		if cohort >= "2010-02" {
			if row[2] != "" {
				t.Errorf("monthly_retention %s = %s, want no value: month 1 is not over", cohort, row[2])
			}
			continue
		}
		wantPercent := 100 * float64(want.active[cohort][addMonths(t, cohort, 1)]) / float64(size)
		if got := parseCell(t, row[2]); math.Abs(got-wantPercent) > 1e-6 {
			t.Errorf("monthly_retention %s = %v, want %v", cohort, got, wantPercent)
		}
		checked++
	}
	if checked != 13 {
		t.Errorf("checked %d months, want 13 (January 2009 to January 2010)", checked)
	}
}

func TestReportCohortTableFormats(t *testing.T) {
	dbPath, _ := importRelayFoods(t)
	kpiPath := writeTempFile(t, "kpis.yaml", relayRetentionKPIs)
	want := queryRelayCohorts(t, dbPath)
	args := []string{"report", "--kpis", kpiPath, "--db", dbPath, "--kpi", "monthly_retention", "--from", "2009-01-01", "--to", "2009-03-31"}

	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("table exit code %d: %s", code, stderr)
	}
	if w := "monthly_retention — Month 1 retention: cohorts by first order_placed"; !strings.Contains(stdout, w) {
		t.Errorf("table does not contain %q:\n%s", w, stdout)
	}
	janRow := regexp.MustCompile(fmt.Sprintf(`2009-01-01 +%d +100\.0%%`, want.size["2009-01"]))
	if !janRow.MatchString(stdout) {
		t.Errorf("table has no row %q:\n%s", janRow, stdout)
	}

	code, stdout, stderr = runCLI(t, append(args, "--format", "json")...)
	if code != exitOK {
		t.Fatalf("JSON exit code %d: %s", code, stderr)
	}
	var body struct {
		KPI struct {
			ID string `json:"id"`
		} `json:"kpi"`
		Cohorts struct {
			Periods int `json:"periods"`
			Cohorts []struct {
				Size     int `json:"size"`
				Retained []struct {
					Period int `json:"period"`
					Users  int `json:"users"`
				} `json:"retained"`
			} `json:"cohorts"`
		} `json:"cohorts"`
	}
	if err := json.Unmarshal([]byte(stdout), &body); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout)
	}
	if body.KPI.ID != "monthly_retention" || body.Cohorts.Periods != 3 || len(body.Cohorts.Cohorts) != 3 {
		t.Fatalf("JSON kpi/periods/cohorts = %q/%d/%d, want monthly_retention/3/3", body.KPI.ID, body.Cohorts.Periods, len(body.Cohorts.Cohorts))
	}
	jan := body.Cohorts.Cohorts[0]
	if jan.Size != want.size["2009-01"] || len(jan.Retained) != 3 || jan.Retained[2].Users != want.active["2009-01"]["2009-03"] {
		t.Errorf("January 2009 cohort = %+v, want size %d and %d users in period 2", jan, want.size["2009-01"], want.active["2009-01"]["2009-03"])
	}
}

func TestReportFunnelSteps(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "funnel.db")
	views := writeTempFile(t, "views.csv", "when,who\n"+
		"2026-01-02 10:00,ana\n"+
		"2026-01-03 10:00,ana\n"+ // ana's second view
		"2026-01-05 10:00,ben\n"+
		"2026-01-08 10:00,cy\n"+
		"2026-01-09 10:00,cy\n")
	buys := writeTempFile(t, "buys.csv", "when,who\n"+
		"2026-01-04 10:00,ana\n"+
		"2026-01-06 10:00,ben\n"+ // after one view only
		"2026-01-20 10:00,cy\n") // after the 7-day window
	for _, f := range []struct{ path, event string }{{views, "view"}, {buys, "buy"}} {
		code, _, stderr := runCLI(t, "import", "csv", f.path, "--event", f.event, "--time", "when", "--user", "who",
			"--time-zone", "America/New_York", "--db", dbPath)
		if code != exitOK {
			t.Fatalf("import %s exit code %d: %s", f.event, code, stderr)
		}
	}
	kpiPath := writeTempFile(t, "kpis.yaml", `workspace:
  name: Shop
  time_zone: America/New_York
kpis:
  - id: checkout
    name: Viewed twice, then bought
    unit: "%"
    metric: {kind: funnel, steps: [view, view, buy], window: 7}
`)

	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--kpi", "checkout", "--format", "csv",
		"--from", "2026-01-01", "--to", "2026-01-31")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}

	// ana, ben and cy view; ana and cy view twice; only ana buys in time.
	want := "step,event,users,conversion_from_previous,conversion_from_first,in_progress,dropped\n" +
		"1,view,3,,100,0,1\n" +
		"2,view,2,66.666667,66.666667,0,1\n" +
		"3,buy,1,50,33.333333,0,0\n"
	if stdout != want {
		t.Errorf("funnel CSV:\n%s\nwant:\n%s", stdout, want)
	}

	// With --series, the same KPI prints its series: in January 1 of the 3
	// users who entered converted.
	code, stdout, stderr = runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--kpi", "checkout", "--format", "csv",
		"--from", "2026-01-01", "--to", "2026-01-31", "--series")
	if code != exitOK {
		t.Fatalf("report --series exit code %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || lines[0] != "kpi,period_start,value,previous,change,target,status,partial,grain" ||
		!strings.HasPrefix(lines[1], "checkout,2026-01-01,33.333333,") || !strings.HasSuffix(lines[1], ",month") {
		t.Errorf("funnel series CSV:\n%s\nwant the header and one January row at 33.333333 by month", stdout)
	}
}
