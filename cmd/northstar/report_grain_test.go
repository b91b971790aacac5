package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// grainFixture writes a KPI file with a weekly and a monthly unique-user
// KPI on the event "active", and imports these events (June 2026 starts on
// a Monday, the week start):
//
//	week of 2026-06-01: u1 u2 u3 u4 u5
//	week of 2026-06-08: u1 u2
//	week of 2026-06-15: u6 u7 u8 u9
//	week of 2026-06-22: u1 u2 u3
//
// So the week of 2026-06-22 has 3 active users and June up to the 28th has 9.
func grainFixture(t *testing.T) (kpiPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	kpiPath = filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(`workspace: {name: Acme, time_zone: UTC, week_start: monday}
kpis:
  - id: wau
    name: Weekly active users
    grain: week
    metric: {kind: unique_users, event: active}
  - id: mau
    name: Monthly active users
    grain: month
    metric: {kind: unique_users, event: active}
`), 0o644); err != nil {
		t.Fatal(err)
	}

	weeks := []struct {
		day   string
		users []int
	}{
		{"2026-06-02", []int{1, 2, 3, 4, 5}},
		{"2026-06-09", []int{1, 2}},
		{"2026-06-16", []int{6, 7, 8, 9}},
		{"2026-06-23", []int{1, 2, 3}},
	}
	var csv strings.Builder
	csv.WriteString("user,time\n")
	for _, w := range weeks {
		for _, u := range w.users {
			fmt.Fprintf(&csv, "u%d,%sT10:00:00Z\n", u, w.day)
		}
	}
	csvPath := filepath.Join(dir, "active.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dbPath = filepath.Join(dir, "northstar.db")
	code, _, stderr := runCLI(t, "import", "csv", csvPath, "--event", "active", "--time", "time", "--user", "user", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	return kpiPath, dbPath
}

// documentSection returns the <section> of the HTML report that holds name,
// up to its chart.
func documentSection(t *testing.T, doc, name string) string {
	t.Helper()
	for _, s := range strings.Split(doc, "<section")[1:] {
		if strings.Contains(s, ">"+name+"<") {
			text, _, _ := strings.Cut(s, "<img")
			return text
		}
	}
	t.Fatalf("HTML report has no section for %q:\n%s", name, doc)
	return ""
}

func TestReportHTMLUsesEachKPIGrain(t *testing.T) {
	kpiPath, dbPath := grainFixture(t)
	code, doc, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-06-01", "--to", "2026-06-28", "--format", "html")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}

	wau := documentSection(t, doc, "Weekly active users")
	if want := `class="kpi-value">3</span> <span style="color:#5b6570">2026-06-22</span>`; !strings.Contains(wau, want) {
		t.Errorf("weekly KPI lacks %s (3 users in the week of 2026-06-22):\n%s", want, wau)
	}
	mau := documentSection(t, doc, "Monthly active users")
	if want := `class="kpi-value">9</span> <span style="color:#5b6570">Jun 2026 (so far)</span>`; !strings.Contains(mau, want) {
		t.Errorf("monthly KPI lacks %s (9 users in June to the 28th, a partial month):\n%s", want, mau)
	}
	if strings.Contains(doc, "grain-note") {
		t.Errorf("HTML report notes a grain, but each KPI is at its own grain")
	}
}

func TestReportHTMLExplicitGrainNoted(t *testing.T) {
	kpiPath, dbPath := grainFixture(t)
	code, doc, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-06-01", "--to", "2026-06-28", "--format", "html", "--grain", "month")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}

	wau := documentSection(t, doc, "Weekly active users")
	if want := `class="kpi-value">9</span>`; !strings.Contains(wau, want) {
		t.Errorf("weekly KPI by month lacks %s (9 users in June to the 28th):\n%s", want, wau)
	}
	if want := "computed by month as requested; the KPI&#39;s own grain is week"; !strings.Contains(wau, want) {
		t.Errorf("weekly KPI by month lacks the note %q:\n%s", want, wau)
	}
	if mau := documentSection(t, doc, "Monthly active users"); strings.Contains(mau, "grain-note") {
		t.Errorf("monthly KPI by month has a grain note:\n%s", mau)
	}
}

// TestReportTableAndCSVUseEachKPIGrain checks that without --grain the
// table and CSV formats compute each KPI at its own grain, like the
// documents, and that --grain sets one grain for all.
func TestReportTableAndCSVUseEachKPIGrain(t *testing.T) {
	kpiPath, dbPath := grainFixture(t)
	args := []string{"report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-06-01", "--to", "2026-06-28"}

	code, out, stderr := runCLI(t, append(args, "--format", "csv")...)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	// From the fixture: weeks of 5, 2, 4 and 3 users; 9 users in June.
	for _, want := range []string{
		"wau,2026-06-01,5,", "wau,2026-06-08,2,", "wau,2026-06-15,4,", "wau,2026-06-22,3,",
		"mau,2026-06-01,9,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("CSV lacks a row starting %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		kpi, _, _ := strings.Cut(line, ",")
		want := map[string]string{"wau": ",week", "mau": ",month"}[kpi]
		if !strings.HasSuffix(line, want) {
			t.Errorf("CSV row %q does not end with the KPI's grain %q", line, want)
		}
	}

	code, out, stderr = runCLI(t, append(args, "--format", "table")...)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	for _, want := range []string{"wau — Weekly active users, by week", "mau — Monthly active users, by month"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr = runCLI(t, append(args, "--format", "csv", "--grain", "month")...)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	if !strings.Contains(out, "wau,2026-06-01,9,") || strings.Contains(out, "wau,2026-06-08,") {
		t.Errorf("with --grain month the weekly KPI is not computed by month (9 users in June):\n%s", out)
	}
}
