package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// targetsKPIFile revises the signups target in the file: 100 a month by
// the end of March 2026 at first, 40 from 15 February.
const targetsKPIFile = `workspace: {name: Revised, time_zone: UTC}
kpis:
  - id: signups
    name: Signups
    grain: month
    review: monthly
    metric: {kind: count, event: signup}
    baseline: {value: 10, date: 2025-12-31}
    target: {value: 100, by: 2026-03-31}
    targets:
      - value: 40
        by: 2026-03-31
        applies_from: 2026-02-15
        reason: The launch moved to April
`

// TestReportRevisedTargetFromFile imports 10 signups in each month of the
// first quarter of 2026 and reports them against the file's revised target.
// The path runs from 10 at 2025-12-31 00:00 to the target at 2026-04-01
// 00:00, 91 days later. January ends 32 days in, under the first target:
// 10 + 90*32/91 = 41.648352, so 10 signups are off track. February ends 60
// days in, under the revision: 10 + 30*60/91 = 29.780220, also off track.
// March ends on the revised target, 40.
func TestReportRevisedTargetFromFile(t *testing.T) {
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(targetsKPIFile), 0o644); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("time,user\n")
	for _, month := range []string{"01", "02", "03"} {
		for i := range 10 {
			fmt.Fprintf(&csv, "2026-%s-%02dT12:00:00Z,u%s%d\n", month, i+1, month, i)
		}
	}
	csvPath := filepath.Join(dir, "signups.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "northstar.db")
	if code, _, stderr := runCLI(t, "import", "csv", csvPath, "--event", "signup", "--time", "time", "--user", "user", "--db", dbPath); code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}

	rows := reportRows(t, "--kpis", kpiPath, "--db", dbPath, "--grain", "month", "--from", "2026-01-01", "--to", "2026-03-31")
	for _, want := range []struct {
		month  string
		target float64
		status string
	}{
		{"2026-01-01", 10 + 90.0*32/91, "off_track"},
		{"2026-02-01", 10 + 30.0*60/91, "off_track"},
		{"2026-03-01", 40, "off_track"},
	} {
		row := rows["signups"][want.month]
		if row == nil {
			t.Fatalf("no row for %s: %v", want.month, rows)
		}
		if got := parseCell(t, row[5]); math.Abs(got-want.target) > 1e-6 {
			t.Errorf("%s: target %g, want %.6f", want.month, got, want.target)
		}
		if row[6] != want.status {
			t.Errorf("%s: status %s, want %s", want.month, row[6], want.status)
		}
	}

	// The table says that the never-reviewed KPI is due for review.
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--grain", "month", "--from", "2026-01-01", "--to", "2026-03-31", "--format", "table")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "review: monthly, due (never reviewed)") {
		t.Errorf("table does not show the review schedule:\n%s", stdout)
	}
}
