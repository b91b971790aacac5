package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver for the checks in plain SQL
)

// sharedDataFile returns the path of a file in the shared data folder, found
// by walking up from the working directory to a folder with shared/data in it.
func sharedDataFile(t *testing.T, name string) string {
	t.Helper()

	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "shared", "data", name)
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}

	if os.Getenv("CI") == "true" {
		t.Fatalf("shared/data/%s not found above the working directory", name)
	}
	t.Skipf("shared/data/%s not found above the working directory; check out the shared data folder next to the repository to run this test", name)
	return ""
}

// runCLI runs the northstar command line and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// monthTotals are the distinct customers and the revenue of one month.
type monthTotals struct {
	customers map[string]bool
	revenue   float64
}

// relayFoodsMonths reads the orders file with encoding/csv and sums each
// month in plain Go, independently of the importer.
func relayFoodsMonths(t *testing.T, path string) (rows int, months map[time.Time]*monthTotals) {
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

	header := records[0]
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}

	months = map[time.Time]*monthTotals{}
	for _, rec := range records[1:] {
		day, err := time.Parse("2006-01-02", rec[col["OrderDate"]])
		if err != nil {
			t.Fatalf("order date %q: %v", rec[col["OrderDate"]], err)
		}
		revenue, err := strconv.ParseFloat(rec[col["TotalCharges"]], 64)
		if err != nil {
			t.Fatalf("total charges %q: %v", rec[col["TotalCharges"]], err)
		}

		month := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
		m := months[month]
		if m == nil {
			m = &monthTotals{customers: map[string]bool{}}
			months[month] = m
		}
		m.customers[rec[col["UserId"]]] = true
		m.revenue += revenue
	}
	return len(records) - 1, months
}

func TestImportCSVRelayFoods(t *testing.T) {
	orders := sharedDataFile(t, "relay-foods-orders.csv")
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	args := []string{"import", "csv", orders,
		"--event", "order_placed", "--time", "OrderDate", "--user", "UserId",
		"--prop", "revenue=TotalCharges:number", "--db", dbPath}

	rows, months := relayFoodsMonths(t, orders)
	if rows != 2891 {
		t.Fatalf("the orders file has %d rows, want 2891 as documented with the data", rows)
	}

	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("first import exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "relay-foods-orders.csv: 2891 rows read, 2891 imported, 0 duplicates, 0 skipped\n"; stdout != want {
		t.Errorf("first import output = %q, want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("first import wrote to stderr: %q", stderr)
	}

	code, stdout, stderr = runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("second import exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "relay-foods-orders.csv: 2891 rows read, 0 imported, 2891 duplicates, 0 skipped\n"; stdout != want {
		t.Errorf("second import output = %q, want %q", stdout, want)
	}

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var stored int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE name = 'order_placed' AND source = 'csv'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != rows {
		t.Errorf("stored %d events, want %d", stored, rows)
	}

	var numeric int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE json_type(properties, '$.revenue') IN ('real', 'integer')`).Scan(&numeric); err != nil {
		t.Fatal(err)
	}
	if numeric != rows {
		t.Errorf("%d events have a numeric revenue, want %d", numeric, rows)
	}

	checked := 0
	for month, want := range months {
		start, end := month.UnixMicro(), month.AddDate(0, 1, 0).UnixMicro()
		var customers int
		var revenue float64
		err := db.QueryRow(`SELECT count(DISTINCT distinct_id), sum(json_extract(properties, '$.revenue'))
			FROM events WHERE ts >= ? AND ts < ?`, start, end).Scan(&customers, &revenue)
		if err != nil {
			t.Fatalf("query %s: %v", month.Format("2006-01"), err)
		}

		if customers != len(want.customers) {
			t.Errorf("%s: %d distinct customers in the database, want %d", month.Format("2006-01"), customers, len(want.customers))
		}
		if math.Abs(revenue-want.revenue) > 1e-6 {
			t.Errorf("%s: revenue %.6f in the database, want %.6f", month.Format("2006-01"), revenue, want.revenue)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("checked %d months, want at least 3", checked)
	}
}

// writeTempFile writes content to a new file in a temporary directory.
func writeTempFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportCSVMissingColumnExitCode(t *testing.T) {
	file := writeTempFile(t, "orders.csv", "OrderId,OrderDate,TotalCharges\n1,2009-01-11,5\n")
	dbPath := filepath.Join(t.TempDir(), "northstar.db")

	code, stdout, stderr := runCLI(t, "import", "csv", file,
		"--event", "order_placed", "--time", "OrderDate", "--user", "UserId", "--db", dbPath)

	if code != exitInvalid {
		t.Errorf("exit code = %d, want %d", code, exitInvalid)
	}
	if !strings.Contains(stderr, `user column "UserId" is not in the header`) {
		t.Errorf("stderr = %q, want it to name the column UserId", stderr)
	}
	if !strings.Contains(stderr, `"OrderId", "OrderDate", "TotalCharges"`) {
		t.Errorf("stderr = %q, want it to list the header", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("database file exists after a failed import (stat error %v)", err)
	}
}

func TestImportCSVBadRowsReported(t *testing.T) {
	file := writeTempFile(t, "orders.csv", "OrderDate,UserId,TotalCharges\n"+
		"2009-01-11,47,5\n"+
		"2009-13-45,48,5\n"+ // line 3
		"2009-01-12,49,five\n"+ // line 4
		"2009-01-13,50,7\n")
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	args := []string{"import", "csv", file, "--event", "order_placed", "--time", "OrderDate",
		"--user", "UserId", "--prop", "revenue=TotalCharges:number", "--db", dbPath}

	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := "orders.csv: 4 rows read, 2 imported, 0 duplicates, 2 skipped\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	for _, want := range []string{
		`skipped line 3: column "OrderDate": "2009-13-45" is not a valid date or time: month out of range`,
		`skipped line 4: column "TotalCharges": "five" is not a number`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr, want)
		}
	}

	code, stdout, stderr = runCLI(t, append(args, "--strict")...)
	if code != exitInvalid {
		t.Errorf("strict exit code = %d, want %d", code, exitInvalid)
	}
	if !strings.Contains(stderr, "line 3:") || !strings.Contains(stderr, "nothing was imported") {
		t.Errorf("strict stderr = %q, want line 3 and that nothing was imported", stderr)
	}
	if stdout != "" {
		t.Errorf("strict stdout = %q, want nothing", stdout)
	}
}

func TestImportCSVTimeZoneFlag(t *testing.T) {
	file := writeTempFile(t, "logins.csv", "when,who\n2021-01-15 09:00,a\n2021-07-15 09:00,b\n")
	dbPath := filepath.Join(t.TempDir(), "northstar.db")

	code, _, stderr := runCLI(t, "import", "csv", file, "--event", "login", "--time", "when",
		"--user", "who", "--time-zone", "America/New_York", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// New York is UTC-5 in January and UTC-4 in July.
	want := map[string]time.Time{
		"a": time.Date(2021, 1, 15, 14, 0, 0, 0, time.UTC),
		"b": time.Date(2021, 7, 15, 13, 0, 0, 0, time.UTC),
	}
	for user, wantTime := range want {
		var ts int64
		if err := db.QueryRow(`SELECT ts FROM events WHERE distinct_id = ?`, user).Scan(&ts); err != nil {
			t.Fatalf("user %s: %v", user, err)
		}
		if got := time.UnixMicro(ts).UTC(); !got.Equal(wantTime) {
			t.Errorf("user %s: ts = %s, want %s", user, got, wantTime)
		}
	}
}

func TestImportCSVUsageErrors(t *testing.T) {
	file := writeTempFile(t, "orders.csv", "OrderDate,UserId\n2009-01-11,47\n")
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	base := []string{"--event", "order_placed", "--time", "OrderDate", "--user", "UserId", "--db", dbPath}

	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no format", []string{"import"}, "name the format to import"},
		{"unknown format", []string{"import", "xlsx", file}, `unknown import format "xlsx"`},
		{"no file", append([]string{"import", "csv"}, base...), "import csv takes one FILE, got 0 arguments"},
		{"two files", append([]string{"import", "csv", file, file}, base...), "got 2 arguments"},
		{"missing flags", []string{"import", "csv", file, "--time", "OrderDate", "--db", dbPath}, "missing required flags: --event NAME, --user COLUMN"},
		{"bad prop", append([]string{"import", "csv", file, "--prop", "revenue"}, base...), `invalid --prop: property mapping "revenue" is not NAME=COLUMN`},
		{"bad time zone", append([]string{"import", "csv", file, "--time-zone", "Mars/Olympus"}, base...), `--time-zone "Mars/Olympus" is not a known time zone`},
		{"unknown flag", append([]string{"import", "csv", file, "--sheet", "1"}, base...), "unknown flag: --sheet"},
		{"file not found", append([]string{"import", "csv", filepath.Join(t.TempDir(), "none.csv")}, base...), "none.csv does not exist"},
		{"directory", append([]string{"import", "csv", t.TempDir()}, base...), "is a directory"},
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
}

func TestImportCSVHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, "import", "csv", "--help")
	if code != exitOK {
		t.Fatalf("exit code = %d, want 0", code)
	}
	for _, want := range []string{
		"--event", "--time", "--user", "--prop", "--strict", "--time-zone", "--db",
		"1/11/2009", "11.01.2009", "Unix seconds", "duplicates",
		"--event order_placed", "--prop revenue=TotalCharges:number",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help does not mention %q", want)
		}
	}
}

func TestImportCSVFixedTime(t *testing.T) {
	ratings := sharedDataFile(t, "nps-airline-ratings.csv")
	dbPath := filepath.Join(t.TempDir(), "nps.db")

	code, stdout, stderr := runCLI(t, "import", "csv", ratings, "--event", "survey", "--at", "2024-06-30 12:00",
		"--time-zone", "Europe/Berlin", "--user", "CustomerID",
		"--prop", "score=How likely are you to recommend this airline?:score", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "184 rows read, 184 imported") {
		t.Errorf("summary %q, want 184 rows read and imported", stdout)
	}

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, distinctTimes int
	var ts int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT ts), min(ts) FROM events`).Scan(&n, &distinctTimes, &ts); err != nil {
		t.Fatal(err)
	}
	// 12:00 in Berlin in summer is 10:00 UTC.
	want := time.Date(2024, 6, 30, 10, 0, 0, 0, time.UTC)
	if n != 184 || distinctTimes != 1 || !time.UnixMicro(ts).UTC().Equal(want) {
		t.Errorf("%d events at %d times, first %s; want 184 at %s", n, distinctTimes, time.UnixMicro(ts).UTC(), want)
	}
}

func TestImportCSVTimeAndAtConflict(t *testing.T) {
	csvPath := writeTempFile(t, "x.csv", "When,Who\n2024-01-01,a\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"both", []string{"--time", "When", "--at", "2024-01-01"}, "--time and --at both give the event time"},
		{"neither", nil, "missing required flags: --time COLUMN"},
		{"bad at", []string{"--at", "soon"}, `--at: "soon" is not a date or time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"import", "csv", csvPath, "--event", "e", "--user", "Who", "--db", filepath.Join(t.TempDir(), "x.db")}, tt.args...)
			code, _, stderr := runCLI(t, args...)
			if code != exitInvalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitInvalid, tt.want)
			}
		})
	}
}

// The import into an empty database builds the (user_id) index of events
// at the end instead of row by row. The index must exist after that import
// and after a second one into the database, which then holds events.
func TestImportCSVBuildsUserIndex(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	for i, content := range []string{
		"when,who\n2021-01-15 09:00,a\n2021-01-16 09:00,b\n",
		"when,who\n2021-01-15 09:00,a\n2021-01-17 09:00,c\n",
	} {
		file := writeTempFile(t, "logins.csv", content)
		code, _, stderr := runCLI(t, "import", "csv", file, "--event", "login", "--time", "when", "--user", "who", "--db", dbPath)
		if code != exitOK {
			t.Fatalf("import %d: exit code = %d, want 0; stderr:\n%s", i+1, code, stderr)
		}

		db, err := sql.Open("sqlite", dbPath)
		if err != nil {
			t.Fatal(err)
		}
		var indexes int
		err = db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_user'`).Scan(&indexes)
		if err != nil {
			t.Fatal(err)
		}
		if indexes != 1 {
			t.Errorf("after import %d: %d indexes named events_user, want 1", i+1, indexes)
		}
		var events int
		if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if want := 2 + i; events != want {
			t.Errorf("after import %d: %d events, want %d", i+1, events, want)
		}
		db.Close()
	}
}

// An interrupted command (SIGINT cancels run's context) exits with 130 and
// prints "interrupted", not "context canceled" as for a failure.
func TestRunInterruptedExitCode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "visits.csv")
	if err := os.WriteFile(file, []byte("when,who\n2024-03-01,u1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	var out, errOut bytes.Buffer
	code := run(ctx, []string{"import", "csv", file, "--event", "visit", "--time", "when", "--user", "who",
		"--db", filepath.Join(dir, "n.db")}, &out, &errOut)
	if code != exitInterrupted {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitInterrupted, errOut.String())
	}
	if !strings.Contains(errOut.String(), "northstar: interrupted") {
		t.Errorf("stderr lacks \"northstar: interrupted\":\n%s", errOut.String())
	}
	if strings.Contains(errOut.String(), "context canceled") {
		t.Errorf("stderr shows the Go error text:\n%s", errOut.String())
	}
}
