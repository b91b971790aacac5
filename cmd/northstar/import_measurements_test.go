package main

import (
	"database/sql"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const spendCSV = "date,channel,spend\n" +
	"2026-01-30,search,100\n" +
	"2026-01-31,search,120.5\n" +
	"2026-01-31,social,\"$1,000\"\n" +
	"2026-02-01,search,90\n" +
	"2026-02-01,social,oops\n" // line 6

func TestImportMeasurementsCLI(t *testing.T) {
	file := writeTempFile(t, "spend.csv", spendCSV)
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	args := []string{"import", "measurements", file, "--series", "ad_spend", "--time", "date", "--value", "spend",
		"--dim", "channel=channel", "--time-zone", "America/New_York", "--db", dbPath}

	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "spend.csv: 5 rows read, 4 imported, 0 duplicates, 1 skipped\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if want := `skipped line 6: column "spend": "oops" is not a number`; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, want)
	}

	code, stdout, _ = runCLI(t, args...)
	if code != exitOK || !strings.Contains(stdout, "0 imported, 4 duplicates, 1 skipped") {
		t.Errorf("second import: exit code %d, stdout %q; want 4 duplicates", code, stdout)
	}

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Midnight in New York is 05:00 UTC in winter.
	rows, err := db.Query(`SELECT series, ts, value, json_extract(dimensions, '$.channel') FROM measurements ORDER BY ts, value`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type stored struct {
		series  string
		ts      int64
		value   float64
		channel string
	}
	var got []stored
	for rows.Next() {
		var s stored
		if err := rows.Scan(&s.series, &s.ts, &s.value, &s.channel); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []stored{
		{"ad_spend", 1769749200000000, 100, "search"},   // 2026-01-30 05:00 UTC
		{"ad_spend", 1769835600000000, 120.5, "search"}, // 2026-01-31 05:00 UTC
		{"ad_spend", 1769835600000000, 1000, "social"},
		{"ad_spend", 1769922000000000, 90, "search"}, // 2026-02-01 05:00 UTC
	}
	if len(got) != len(want) {
		t.Fatalf("stored %d measurements, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("measurement %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestImportMeasurementsReport(t *testing.T) {
	file := writeTempFile(t, "spend.csv", spendCSV)
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	code, _, stderr := runCLI(t, "import", "measurements", file, "--series", "ad_spend", "--time", "date", "--value", "spend",
		"--dim", "channel=channel", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	kpis := writeTempFile(t, "kpis.yaml", `workspace: {name: Spend, time_zone: UTC}
kpis:
  - id: spend
    name: Ad spend
    unit: USD
    metric: {kind: measurement, series: ad_spend, aggregate: sum}
  - id: search_spend
    name: Search ad spend
    unit: USD
    metric: {kind: measurement, series: ad_spend, aggregate: sum, where: {channel: search}}
`)

	rows := reportRows(t, "--kpis", kpis, "--db", dbPath, "--from", "2026-01-01", "--to", "2026-02-28")

	for _, tt := range []struct {
		kpi, period string
		want        float64
	}{
		{"spend", "2026-01-01", 100 + 120.5 + 1000},
		{"spend", "2026-02-01", 90},
		{"search_spend", "2026-01-01", 220.5},
	} {
		if got := parseCell(t, rows[tt.kpi][tt.period][2]); got != tt.want {
			t.Errorf("%s %s = %v, want %v", tt.kpi, tt.period, got, tt.want)
		}
	}
}

func TestImportMeasurementsUsageErrors(t *testing.T) {
	file := writeTempFile(t, "spend.csv", spendCSV)
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	base := []string{"--series", "ad_spend", "--time", "date", "--value", "spend", "--db", dbPath}

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no file", append([]string{"import", "measurements"}, base...), "import measurements takes one FILE, got 0 arguments"},
		{"missing flags", []string{"import", "measurements", file, "--time", "date", "--db", dbPath}, "missing required flags: --series NAME, --value COLUMN"},
		{"bad dim", append([]string{"import", "measurements", file, "--dim", "channel"}, base...), `invalid --dim: dimension mapping "channel" is not NAME=COLUMN`},
		{"bad time zone", append([]string{"import", "measurements", file, "--time-zone", "Mars/Olympus"}, base...), `--time-zone "Mars/Olympus" is not a known time zone`},
		{"missing column", []string{"import", "measurements", file, "--series", "ad_spend", "--time", "date", "--value", "cost", "--db", dbPath},
			`value column "cost" is not in the header`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != exitInvalid {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitInvalid, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("database file exists after failed imports (stat error %v)", err)
	}
}

func TestSaaSExampleAdSpend(t *testing.T) {
	const spendFile = "../../examples/saas/ad-spend.csv"
	dbPath := filepath.Join(t.TempDir(), "saas.db")
	code, _, stderr := runCLI(t, "import", "measurements", spendFile, "--series", "ad_spend", "--time", "date",
		"--value", "spend", "--dim", "channel=channel", "--time-zone", "America/New_York", "--strict", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}

	// Sum each month of the file in plain Go.
	data, err := os.ReadFile(spendFile)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	months := map[string]float64{}
	channels := map[string]bool{}
	for _, rec := range records[1:] {
		months[rec[0][:7]+"-01"] += parseCell(t, rec[2])
		channels[rec[1]] = true
	}
	if len(months) < 3 || len(channels) != 2 {
		t.Fatalf("the example has %d months and %d channels, want at least 3 and 2", len(months), len(channels))
	}

	rows := reportRows(t, "--kpis", "../../examples/saas/kpis.yaml", "--db", dbPath, "--kpi", "ad_spend", "--kpi", "cac",
		"--from", "2026-01-01", "--to", "2026-03-31")

	for month, want := range months {
		if got := parseCell(t, rows["ad_spend"][month][2]); math.Abs(got-want) > 1e-6 {
			t.Errorf("ad_spend %s = %v, want %v", month, got, want)
		}
		// No subscription events are imported, so every month divides by zero.
		if got := rows["cac"][month][2]; got != "" {
			t.Errorf("cac %s = %q, want no value", month, got)
		}
	}
}
