package main

import (
	"math"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// The import and report commands on a postgres:// --db give the sums that
// plain Go computes from the CSV file, as they do on SQLite.
func TestReportPostgresRelayFoods(t *testing.T) {
	ordersPath := sharedDataFile(t, "relay-foods-orders.csv")
	dsn := storetest.PostgresDatabase(t)
	_, months := relayFoodsMonths(t, ordersPath)

	code, _, stderr := runCLI(t, "import", "csv", ordersPath, "--event", "order_placed", "--time", "OrderDate",
		"--user", "UserId", "--prop", "revenue=TotalCharges:number", "--time-zone", "America/New_York", "--db", dsn)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}

	rows := reportRows(t, "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dsn, "--from", "2009-01-01")

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
		checked++
	}
	if checked != 15 {
		t.Errorf("checked %d months, want 15 (2009-01 to 2010-03)", checked)
	}
}
