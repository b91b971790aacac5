package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// npsCount is a hand count of the answers to one 0–10 question.
type npsCount struct {
	promoters, passives, detractors, responses int
}

// countNPS reads column of the CSV file at path with encoding/csv and counts
// promoters (9–10), passives (7–8) and detractors (0–6) in plain Go.
func countNPS(t *testing.T, path, column string) npsCount {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}

	col := -1
	for i, name := range records[0] {
		if name == column {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no column %q; the header is %q", path, column, records[0])
	}

	var c npsCount
	for _, rec := range records[1:] {
		score, err := strconv.Atoi(rec[col])
		if err != nil || score < 0 || score > 10 {
			t.Fatalf("%s: %q is not a 0–10 score", path, rec[col])
		}
		c.responses++
		switch {
		case score >= 9:
			c.promoters++
		case score >= 7:
			c.passives++
		default:
			c.detractors++
		}
	}
	return c
}

// withDateColumn copies the CSV file at path into a temporary file with a
// column SurveyDate set to date on every row, for survey files that record
// no time.
func withDateColumn(t *testing.T, path, date string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	records[0] = append(records[0], "SurveyDate")
	for i := 1; i < len(records); i++ {
		records[i] = append(records[i], date)
	}

	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	return writeTempFile(t, filepath.Base(path), b.String())
}

const npsKPIFile = `workspace:
  name: Surveys
  time_zone: UTC
kpis:
  - id: nps
    name: Net Promoter Score
    metric: {kind: nps, event: nps_response, property: score}
`

// reportNPS runs the report for the nps KPI as JSON and returns the value
// and details of its first point.
func reportNPS(t *testing.T, dbPath, from, to string) (float64, map[string]float64) {
	t.Helper()
	kpis := writeTempFile(t, "kpis.yaml", npsKPIFile)
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpis, "--db", dbPath, "--kpi", "nps", "--format", "json", "--from", from, "--to", to)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("report warned: %s", stderr)
	}

	var out struct {
		KPIs []struct {
			Series struct {
				Points []struct {
					Value   *float64           `json:"value"`
					Details map[string]float64 `json:"details"`
				} `json:"points"`
			} `json:"series"`
		} `json:"kpis"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("report output is not JSON: %v\n%s", err, stdout)
	}
	points := out.KPIs[0].Series.Points
	if len(points) != 1 || points[0].Value == nil {
		t.Fatalf("report has points %+v, want one with a value", points)
	}
	return *points[0].Value, points[0].Details
}

func checkNPS(t *testing.T, got float64, details map[string]float64, want npsCount) {
	t.Helper()
	for name, n := range map[string]int{
		"promoters": want.promoters, "passives": want.passives, "detractors": want.detractors, "responses": want.responses,
	} {
		if details[name] != float64(n) {
			t.Errorf("%s = %v, want %d", name, details[name], n)
		}
	}

	percentPromoters := float64(want.promoters) / float64(want.responses) * 100
	percentDetractors := float64(want.detractors) / float64(want.responses) * 100
	if wantNPS := percentPromoters - percentDetractors; math.Abs(got-wantNPS) > 1e-9 {
		t.Errorf("NPS = %v, want %v", got, wantNPS)
	}
}

func TestNPSAirlineRatings(t *testing.T) {
	const column = "How likely are you to recommend this airline?"
	original := sharedDataFile(t, "nps-airline-ratings.csv")
	want := countNPS(t, original, column)
	if want.responses != 184 {
		t.Fatalf("the airline file has %d responses, want 184 as documented with the data", want.responses)
	}

	// The ratings carry no date, so every answer is dated March 15, 2024.
	file := withDateColumn(t, original, "2024-03-15")
	dbPath := filepath.Join(t.TempDir(), "nps.db")
	code, stdout, stderr := runCLI(t, "import", "csv", file, "--event", "nps_response", "--time", "SurveyDate",
		"--user", "CustomerID", "--prop", "score="+column+":score", "--prop", "airline=Airline", "--strict", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "184 rows read, 184 imported") {
		t.Errorf("import output = %q", stdout)
	}

	got, details := reportNPS(t, dbPath, "2024-03-01", "2024-03-31")
	checkNPS(t, got, details, want)
}

func TestNPSConferenceSurvey(t *testing.T) {
	// The survey's 0–10 question about the event itself; the keynote
	// questions use the same scale.
	const column = "On a scale of 0-10, how would you rate Sudzilla?"
	file := sharedDataFile(t, "nps-conference-survey.csv")
	want := countNPS(t, file, column)
	if want.responses != 39 {
		t.Fatalf("the conference survey has %d responses, want 39 as documented with the data", want.responses)
	}

	// The survey has no respondent id, and each response has its own
	// timestamp, so the timestamp identifies the respondent.
	dbPath := filepath.Join(t.TempDir(), "nps.db")
	code, _, stderr := runCLI(t, "import", "csv", file, "--event", "nps_response", "--time", "Timestamp",
		"--user", "Timestamp", "--prop", "score="+column+":score", "--prop", "why=...why?", "--strict", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}

	got, details := reportNPS(t, dbPath, "2019-11-01", "2019-11-30")
	checkNPS(t, got, details, want)
}

func TestNPSImportRejectsScoreOutOfRange(t *testing.T) {
	file := writeTempFile(t, "survey.csv", "SubmittedAt,RespondentId,Rating\n"+
		"2024-03-01,r1,9\n"+
		"2024-03-01,r2,11\n"+ // line 3
		"2024-03-02,r3,4\n")
	dbPath := filepath.Join(t.TempDir(), "nps.db")
	args := []string{"import", "csv", file, "--event", "nps_response", "--time", "SubmittedAt",
		"--user", "RespondentId", "--prop", "score=Rating:score", "--db", dbPath}

	code, stdout, stderr := runCLI(t, append(args, "--strict")...)
	if code != exitInvalid {
		t.Errorf("strict exit code = %d, want %d", code, exitInvalid)
	}
	if want := `line 3: column "Rating": score 11 is outside the range 0 to 10 (strict mode: nothing was imported)`; !strings.Contains(stderr, want) {
		t.Errorf("strict stderr = %q, want it to contain %q", stderr, want)
	}
	if stdout != "" {
		t.Errorf("strict stdout = %q, want nothing", stdout)
	}

	code, stdout, stderr = runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "survey.csv: 3 rows read, 2 imported, 0 duplicates, 1 skipped\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if want := `skipped line 3: column "Rating": score 11 is outside the range 0 to 10`; !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, want)
	}
}

func TestImportCSVHelpMentionsScore(t *testing.T) {
	code, stdout, _ := runCLI(t, "import", "csv", "--help")
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0", code)
	}
	for _, want := range []string{":score property is a number", "from 0 to 10 inclusive", "--prop score=Rating:score"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help does not mention %q", want)
		}
	}
}
