package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchEvents is a small data set whose answers are worked out by hand in
// TestBenchQueriesAnswers.
const benchEvents = `event,distinct_id,timestamp,plan,country,amount
signup,a,2025-01-06T09:00:00Z,pro,DE,
activate,a,2025-01-06T10:00:00Z,pro,DE,
purchase,a,2025-01-07T10:00:00Z,pro,DE,30.50
signup,b,2025-01-07T09:00:00Z,free,FR,
page_view,b,2025-01-20T09:00:00Z,free,FR,
purchase,a,2025-02-03T12:00:00Z,pro,DE,19.25
page_view,b,2025-02-10T08:00:00Z,free,FR,
purchase,b,2025-02-10T09:00:00Z,,FR,5
`

func TestBenchQueriesAnswers(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "events.csv")
	if err := os.WriteFile(csvPath, []byte(benchEvents), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "bench.db")
	if code, _, stderr := runCLI(t, "import", "csv", csvPath, "--db", db, "--event-column", "event", "--time", "timestamp",
		"--user", "distinct_id", "--prop", "plan=plan", "--prop", "amount=amount:number"); code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}

	out := filepath.Join(dir, "answers.json")
	code, stdout, stderr := runCLI(t, "bench", "queries", "--db", db, "--kpis", "../../bench/kpis.yaml", "--json", out)
	if code != exitOK {
		t.Fatalf("bench queries: exit %d: %s", code, stderr)
	}
	for _, id := range []string{"Q1", "Q2", "Q3", "Q4", "Q5", "Q6"} {
		if !strings.Contains(stdout, id+" ") {
			t.Errorf("output has no time for %s:\n%s", id, stdout)
		}
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		From, To string
		Answers  map[string]json.RawMessage
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.From != "2025-01-06" || got.To != "2025-02-10" {
		t.Errorf("range = %s to %s, want 2025-01-06 to 2025-02-10", got.From, got.To)
	}

	// Q1: a on 6, 7 Jan and 3 Feb; b on 7 and 20 Jan and 10 Feb.
	var q1 [][2]any
	if err := json.Unmarshal(got.Answers["Q1"], &q1); err != nil {
		t.Fatal(err)
	}
	dau := map[string]float64{}
	for _, p := range q1 {
		dau[p[0].(string)] = p[1].(float64)
	}
	if len(q1) != 36 {
		t.Errorf("Q1 has %d days, want 36", len(q1))
	}
	for day, want := range map[string]float64{"2025-01-06": 1, "2025-01-07": 2, "2025-01-08": 0, "2025-01-20": 1, "2025-02-10": 1} {
		if dau[day] != want {
			t.Errorf("Q1 %s = %v, want %v", day, dau[day], want)
		}
	}

	// Q3: both signed up in January and came back in February (month 1,
	// which is not over on 10 Feb, so January has column 0 only).
	if got, want := string(got.Answers["Q3"]), `[["2025-01",2,[2]],["2025-02",0,[]]]`; compactJSON(t, got) != want {
		t.Errorf("Q3 = %s, want %s", got, want)
	}

	// Q4: a signed up, activated and bought within a day; b never activated,
	// and b's 7 days ended on 14 Jan.
	var q4 [][4]any
	if err := json.Unmarshal(got.Answers["Q4"], &q4); err != nil {
		t.Fatal(err)
	}
	if len(q4) == 0 || q4[0][0] != "2025-01-06" || q4[0][1] != 2.0 || q4[0][2] != 1.0 || q4[0][3] != 0.0 {
		t.Errorf("Q4 first week = %v, want [2025-01-06 2 1 0]", q4)
	}

	// Q5: January 30.50; February 19.25 (pro) + 5 (no plan).
	want := `{"by_month":[["2025-01",30.5],["2025-02",24.25]],"by_month_plan":[["2025-01","pro",30.5],["2025-02","(none)",5],["2025-02","pro",19.25]]}`
	if got := compactJSON(t, string(got.Answers["Q5"])); got != want {
		t.Errorf("Q5 = %s, want %s", got, want)
	}
}

func TestBenchQueriesNeedsKPIs(t *testing.T) {
	dir := t.TempDir()
	kpis := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpis, []byte("workspace: {name: x, time_zone: UTC}\nkpis:\n  - id: dau\n    name: Daily users\n    grain: day\n    metric: {kind: active_users, window: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "bench", "queries", "--db", filepath.Join(dir, "none.db"), "--kpis", kpis)
	if code != exitInvalid || !strings.Contains(stderr, `needs KPI "mau_rolling"`) {
		t.Errorf("exit %d, stderr %q; want exit %d naming mau_rolling", code, stderr, exitInvalid)
	}
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
