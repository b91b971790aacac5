package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// checkFileKPIs are two KPIs with nothing to warn about; the second starts on
// line 14 and the file has 20 lines.
const checkFileKPIs = `workspace:
  time_zone: Europe/Berlin
objectives:
  - id: grow
    name: Grow sales
kpis:
  - id: revenue
    name: Revenue
    objective: grow
    owner: finance@example.com
    unit: USD
    metric: {kind: sum, event: order, property: total}
    target: {value: 1000, by: 2099-12-31}
  - id: active_customers
    name: Active customers
    objective: grow
    owner: growth@example.com
    unit: customers
    metric: {kind: unique_users, event: order}
    target: {value: 300, by: 2099-12-31}
`

// writeKPIFile writes content to kpis.yaml in a new temporary directory and
// returns its path.
func writeKPIFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kpis.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckCleanFile(t *testing.T) {
	path := writeKPIFile(t, checkFileKPIs)

	code, stdout, stderr := runCLI(t, "check", "--kpis", path)
	if code != exitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	if want := "0 errors, 0 warnings in " + path + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
}

func TestCheckWarningsOnly(t *testing.T) {
	content := strings.Replace(checkFileKPIs, "    owner: growth@example.com\n", "", 1)
	content = strings.Replace(content, "name: Revenue", "name: Engagement", 1)
	path := writeKPIFile(t, content)

	code, stdout, stderr := runCLI(t, "check", "--kpis", path)
	if code != exitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	want := []string{
		"warning: " + path + `:8: kpi "revenue": name: "Engagement" is a generic word that does not say what is measured; name the quantity it measures, such as "Customers who ordered this week"`,
		"warning: " + path + `:14: kpi "active_customers": owner: missing: name the person or team accountable for this KPI, such as growth@example.com`,
		"0 errors, 2 warnings in " + path,
	}
	if got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
}

func TestCheckUnitMismatch(t *testing.T) {
	path := writeKPIFile(t, checkFileKPIs+`  - id: mixed
    name: Revenue plus customers
    objective: grow
    owner: finance@example.com
    unit: USD
    metric: {kind: formula, formula: revenue + active_customers}
    target: {value: 10, by: 2099-12-31}
`)

	code, stdout, stderr := runCLI(t, "check", "--kpis", path)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	wantError := "error: " + path + `:26: kpi "mixed": metric.formula: "revenue + active_customers" adds USD (revenue) to customers (active_customers)`
	if !strings.Contains(stdout, wantError) {
		t.Errorf("stdout lacks %q:\n%s", wantError, stdout)
	}
	if !strings.HasSuffix(stdout, "\n1 error, 0 warnings in "+path+"\n") {
		t.Errorf("stdout does not end with the summary:\n%s", stdout)
	}
	if want := "northstar: " + path + ": 1 error (listed above)\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestCheckFileThatDoesNotLoad(t *testing.T) {
	// A file that fails to load is a finding (exit 1), not a usage error.
	path := writeKPIFile(t, strings.Replace(checkFileKPIs, "kind: sum", "kind: summ", 1))

	code, stdout, _ := runCLI(t, "check", "--kpis", path)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	wantError := "error: " + path + `:12: kpi "revenue": metric.kind: "summ" is not a metric kind`
	if !strings.Contains(stdout, wantError) {
		t.Errorf("stdout lacks %q:\n%s", wantError, stdout)
	}
	if !strings.HasSuffix(stdout, "\n1 error, 0 warnings in "+path+"\n") {
		t.Errorf("stdout does not end with the summary:\n%s", stdout)
	}
}

func TestCheckMaxKPIsFlag(t *testing.T) {
	path := writeKPIFile(t, checkFileKPIs)

	code, stdout, stderr := runCLI(t, "check", "--kpis", path, "--max-kpis", "1")
	if code != exitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	want := "warning: " + path + `:4: objectives[0]: objective "grow" has 2 KPIs (revenue, active_customers), more than 1:`
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout does not start with %q:\n%s", want, stdout)
	}
	if !strings.HasSuffix(stdout, "0 errors, 1 warning in "+path+"\n") {
		t.Errorf("stdout does not end with the summary:\n%s", stdout)
	}
}

func TestCheckUsageErrors(t *testing.T) {
	path := writeKPIFile(t, checkFileKPIs)
	missing := filepath.Join(t.TempDir(), "none.yaml")
	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"no file flag", []string{"check"}, "--kpis FILE is required"},
		{"missing file", []string{"check", "--kpis", missing}, "KPI file " + missing + " not found"},
		{"directory", []string{"check", "--kpis", filepath.Dir(path)}, "cannot read KPI file"},
		{"zero limit", []string{"check", "--kpis", path, "--max-kpis", "0"}, "--max-kpis 0 is invalid"},
		{"limit not a number", []string{"check", "--kpis", path, "--max-kpis", "many"}, `invalid argument "many"`},
		{"unknown flag", []string{"check", "--kpis", path, "--strict"}, "unknown flag: --strict"},
		{"argument", []string{"check", path}, "check takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitInvalid {
				t.Errorf("exit code %d, want %d", code, exitInvalid)
			}
			if !strings.Contains(stderr, tt.message) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.message)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestCheckRelayFoodsExample(t *testing.T) {
	const path = "../../examples/relay-foods/kpis.yaml"

	code, stdout, stderr := runCLI(t, "check", "--kpis", path)
	if code != exitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitOK, stderr)
	}

	// Every target is due on 2010-03-31, the end of the order data: the
	// example is history, so all four deadlines have passed.
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := []string{
		path + `:29: kpi "active_customers": target.by: 2010-03-31 is in the past`,
		path + `:43: kpi "orders": target.by: 2010-03-31 is in the past`,
		path + `:58: kpi "revenue": target.by: 2010-03-31 is in the past`,
		path + `:73: kpi "aov": target.by: 2010-03-31 is in the past`,
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want %d warnings and the summary:\n%s", len(lines), len(want), stdout)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], "warning: "+w) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], "warning: "+w)
		}
	}
	if got, want := lines[len(lines)-1], "0 errors, 4 warnings in "+path; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}

func TestCheckSaaSExample(t *testing.T) {
	const path = "../../examples/saas/kpis.yaml"

	code, stdout, stderr := runCLI(t, "check", "--kpis", path)
	if code != exitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitOK, stderr)
	}

	// Only cac has a target. The others are inputs to its formula and to
	// ltv, or KPIs whose targets depend on the product the example stands for.
	var want []string
	for _, k := range []struct {
		id   string
		line int
	}{{"ad_spend", 41}, {"mrr", 64}, {"subscription_churn", 78}, {"arpu", 91}, {"ltv", 101}, {"mau", 113}, {"stickiness", 123}, {"nps", 133}} {
		want = append(want, "warning: "+path+":"+strconv.Itoa(k.line)+`: kpi "`+k.id+`": target: missing:`)
	}

	// cac's target is due on 2026-12-31 in New York.
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().In(newYork).Format(time.DateOnly) > "2026-12-31" {
		want = append(want[:1], append([]string{"warning: " + path + `:62: kpi "cac": target.by: 2026-12-31 is in the past`}, want[1:]...)...)
	}

	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want %d warnings and the summary:\n%s", len(lines), len(want), stdout)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], w)
		}
	}
	if got, want := lines[len(lines)-1], "0 errors, "+strconv.Itoa(len(want))+" warnings in "+path; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}

// TestCheckDatabase checks a database's KPIs made in the UI and its
// dashboards: a stored KPI without an owner is a warning, one whose objective
// the file does not define is an error, and a dashboard showing three KPIs is
// over a limit of two.
func TestCheckDatabase(t *testing.T) {
	ctx := context.Background()
	path := writeKPIFile(t, checkFileKPIs)
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	signups := `{"id": "signups", "name": "Signups", "objective": "grow", "unit": "users",
		"metric": {"kind": "count", "event": "signup"}, "target": {"value": 100, "by": "2099-12-31"}}`
	if err := db.CreateKPI(ctx, store.StoredKPI{ID: "signups", Name: "Signups", Objective: "grow", Unit: "users",
		Direction: kpi.Up, Definition: []byte(signups), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	board, err := db.CreateDashboard(ctx, store.Dashboard{Name: "Weekly review"})
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range [][]string{{"revenue"}, {"revenue", "active_customers"}, {"signups"}} {
		if _, err := db.AddWidget(ctx, store.Widget{DashboardID: board.ID, Kind: "chart", KPIs: ids, X: 0, Y: i * 3, W: 4, H: 3}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	code, stdout, stderr := runCLI(t, "check", "--kpis", path, "--db", dbPath, "--max-kpis", "3")
	if code != exitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	want := []string{
		"warning: " + dbPath + `: kpi "signups": owner: missing: name the person or team accountable for this KPI, such as growth@example.com`,
		"0 errors, 1 warning in " + path,
	}
	if got := strings.TrimSuffix(stdout, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("with --max-kpis 3, stdout:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}

	// The objective "grow" also has three KPIs now, but the objective limit
	// counts the file's KPIs only; the dashboard shows three distinct KPIs.
	code, stdout, _ = runCLI(t, "check", "--kpis", path, "--db", dbPath, "--max-kpis", "2")
	if code != exitOK {
		t.Errorf("with --max-kpis 2: exit code %d, want %d", code, exitOK)
	}
	if !strings.Contains(stdout, `dashboard "Weekly review" (id `+strconv.FormatInt(board.ID, 10)+`) shows 3 KPIs (revenue, active_customers, signups), more than 2`) {
		t.Errorf("with --max-kpis 2, stdout has no dashboard warning:\n%s", stdout)
	}

	// A file that no longer defines the stored KPI's objective makes it an error.
	content := strings.ReplaceAll(checkFileKPIs, "grow", "sell")
	code, stdout, _ = runCLI(t, "check", "--kpis", writeKPIFile(t, content), "--db", dbPath)
	if code == exitOK {
		t.Errorf("a stored KPI with an unknown objective: exit code %d, want an error", code)
	}
	if !strings.Contains(stdout, "error: "+dbPath+`: kpi "signups": objective:`) {
		t.Errorf("no error for the stored KPI's objective:\n%s", stdout)
	}

	// A database file that does not exist is an error, and is not created.
	missing := filepath.Join(t.TempDir(), "missing.db")
	if code, _, stderr := runCLI(t, "check", "--kpis", path, "--db", missing); code == exitOK || !strings.Contains(stderr, "not found") {
		t.Errorf("missing database: exit code %d, stderr %q; want an error saying it is not found", code, stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("check created %s", missing)
	}
}
