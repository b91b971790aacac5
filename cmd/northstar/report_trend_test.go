package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// trendFixture writes a KPI file and imports signups into a fresh database:
// 10·m signups in month m of 2026, for January to June, so the series is the
// line 10, 20, …, 60, and the target is 100 a month by 2026-12-31. It returns
// the KPI file's and the database's paths.
func trendFixture(t *testing.T) (kpiPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	kpiPath = filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(`workspace: {name: Acme, time_zone: UTC}
kpis:
  - id: signups
    name: Signups
    grain: month
    metric: {kind: count, event: signup}
    target: {value: 100, by: 2026-12-31}
`), 0o644); err != nil {
		t.Fatal(err)
	}

	var csv strings.Builder
	csv.WriteString("user,time\n")
	n := 0
	for m := 1; m <= 6; m++ {
		for range 10 * m {
			n++
			fmt.Fprintf(&csv, "u%d,2026-%02d-15T10:00:00Z\n", n, m)
		}
	}
	csvPath := filepath.Join(dir, "signups.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dbPath = filepath.Join(dir, "northstar.db")
	code, _, stderr := runCLI(t, "import", "csv", csvPath, "--event", "signup", "--time", "time", "--user", "user", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	return kpiPath, dbPath
}

func TestReportTrendTable(t *testing.T) {
	kpiPath, dbPath := trendFixture(t)
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-01-01", "--to", "2026-06-30")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	// June against May: 50 → 60 is +20 %. The line 10·m reaches 120 in
	// December, 20 above the target of 100.
	for _, want := range []string{
		"change: +20.0% (50 on 2026-05-01 → 60 on 2026-06-01)",
		// The data starts on 2026-01-15, so June 2025 has no value, not 0.
		"year over year: –",
		"note: no year-over-year change: the data starts on 2026-01-15, after the start of the month a year before (2025-06-01)",
		"forecast: 120 for the period of 2026-12-01 (95% interval 120 to 120, ols-linear-trend)",
		"pace: On pace (forecast 120, target 100 by 2026-12-31)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
}

func TestReportTrendJSON(t *testing.T) {
	kpiPath, dbPath := trendFixture(t)
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-01-01", "--to", "2026-06-30", "--format", "json")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	var body struct {
		KPIs []struct {
			Trend struct {
				Forecast struct {
					Value float64 `json:"value"`
				} `json:"forecast"`
				Pace struct {
					Status string `json:"status"`
				} `json:"pace"`
			} `json:"trend"`
		} `json:"kpis"`
	}
	if err := json.Unmarshal([]byte(stdout), &body); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout)
	}
	if len(body.KPIs) != 1 {
		t.Fatalf("%d KPIs, want 1", len(body.KPIs))
	}
	tr := body.KPIs[0].Trend
	if tr.Forecast.Value < 119.999999 || tr.Forecast.Value > 120.000001 || tr.Pace.Status != "on_pace" {
		t.Errorf("forecast %g, pace %s; want 120 and on_pace", tr.Forecast.Value, tr.Pace.Status)
	}
}

func TestReportHTMLDocument(t *testing.T) {
	kpiPath, dbPath := trendFixture(t)
	out := filepath.Join(t.TempDir(), "report.html")
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-01-01", "--to", "2026-06-30", "--format", "html", "--output", out)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("standard output %q, want nothing with --output", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"<title>Acme: KPI report</title>",
		`class="kpi-value">60</span>`,
		"&#43;20.0% (50 on 2026-05-01 → 60 on 2026-06-01)",
		"120 for the period of 2026-12-01",
		"On pace (forecast 120, target 100 by 2026-12-31)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}

	m := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("HTML has no PNG chart")
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("chart is not a valid PNG: %v", err)
	}
}

func TestReportPDFDocument(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	requireTool(t, err, "pdftotext not found: install Debian's poppler-utils (apt-get install poppler-utils), or run scripts/test.sh as root")

	kpiPath, dbPath := trendFixture(t)
	addAnnotation(t, dbPath, kpi.Annotation{Kind: kpi.External, Date: timegrain.Date{Year: 2026, Month: 3, Day: 10}, Note: "Competitor launched a free plan", Author: "Ana"})
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--from", "2026-01-01", "--to", "2026-06-30", "--format", "pdf")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "%PDF-") {
		t.Fatalf("output starts with %q, want %%PDF-", stdout[:min(8, len(stdout))])
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(pdftotext, "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, text)
	}
	for _, want := range []string{"Signups (signups)", "60 Jun 2026", "+20.0%", "120 for the period of 2026-12-01", "On pace",
		"New annotations", "2026-03-10, all KPIs (external): Competitor launched a free plan"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
}

func TestReportDocumentRejectsBreakdown(t *testing.T) {
	kpiPath, dbPath := trendFixture(t)
	code, _, stderr := runCLI(t, "report", "--kpis", kpiPath, "--db", dbPath, "--kpi", "signups", "--breakdown", "country", "--format", "pdf")
	if code == exitOK || !strings.Contains(stderr, "--format pdf does not show breakdowns") {
		t.Errorf("exit code %d, stderr %q; want an error naming --format pdf and --breakdown", code, stderr)
	}
}

// requireTool skips the test when a tool is missing (err is not nil), and
// fails it under CI=true, where every tool must be installed.
func requireTool(t *testing.T, err error, message string) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(message)
	}
	t.Skip(message)
}

// addAnnotation stores a in the SQLite database at dbPath.
func addAnnotation(t *testing.T, dbPath string, a kpi.Annotation) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateAnnotation(ctx, a); err != nil {
		t.Fatal(err)
	}
}
