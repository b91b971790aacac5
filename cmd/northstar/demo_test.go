package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/northstar-kpi/northstar/internal/demo"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// eventCounts returns the number of events by name in the database at path,
// read with plain SQL, and the range of their timestamps.
func eventCounts(t *testing.T, path string) (counts map[string]int, first, last time.Time) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()

	rows, err := db.Query(`SELECT name, count(*) FROM events GROUP BY name`)
	if err != nil {
		t.Fatalf("count events in %s: %v", path, err)
	}
	defer rows.Close()
	counts = map[string]int{}
	for rows.Next() {
		var (
			name string
			n    int
		)
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		counts[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var minTS, maxTS int64
	if err := db.QueryRow(`SELECT min(ts), max(ts) FROM events`).Scan(&minTS, &maxTS); err != nil {
		t.Fatalf("read the time range of %s: %v", path, err)
	}
	return counts, time.UnixMicro(minTS), time.UnixMicro(maxTS)
}

func sumCounts(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// generatedCounts counts by name the events that demo.Generate returns.
func generatedCounts(seed int64, days int, end time.Time) map[string]int {
	counts := map[string]int{}
	for _, e := range demo.Generate(seed, days, end) {
		counts[e.Name]++
	}
	return counts
}

// runDemoCLI runs `northstar demo` with args and returns the exit code and
// output, with the day the data ends on. The test accepts the data of either
// end when the run crosses midnight in Berlin.
func runDemoCLI(t *testing.T, args ...string) (code int, stdout, stderr string, ends []time.Time) {
	t.Helper()
	before := demo.End(time.Now())
	code, stdout, stderr = runCLI(t, append([]string{"demo"}, args...)...)
	after := demo.End(time.Now())
	ends = []time.Time{before}
	if !after.Equal(before) {
		ends = append(ends, after)
	}
	return code, stdout, stderr, ends
}

// checkDemoDatabaseMatches fails unless the database at path holds exactly the
// events that demo.Generate(seed, days, end) returns for one of ends.
func checkDemoDatabaseMatches(t *testing.T, path string, seed int64, days int, ends []time.Time) {
	t.Helper()
	got, first, last := eventCounts(t, path)
	for _, end := range ends {
		want := generatedCounts(seed, days, end)
		if sumCounts(got) != sumCounts(want) {
			continue
		}
		for name, n := range want {
			if got[name] != n {
				t.Errorf("the database has %d %s events, want %d", got[name], name, n)
			}
		}
		if start := demo.Start(days, end); first.Before(start) || !last.Before(end) {
			t.Errorf("events run from %s to %s, want them in [%s, %s)", first, last, start, end)
		}
		return
	}
	t.Errorf("the database has %d events, want %d (seed %d, %d days)", sumCounts(got), sumCounts(generatedCounts(seed, days, ends[0])), seed, days)
}

func TestDemoCreatesDatabaseAndKPIFile(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "demo.db")

	code, stdout, stderr, ends := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "60")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0; stderr: %s", code, stderr)
	}
	checkDemoDatabaseMatches(t, dbPath, 1, 60, ends)

	kpiPath := filepath.Join(dir, "demo.kpis.yaml")
	defs, err := kpi.LoadFile(kpiPath)
	if err != nil {
		t.Fatalf("load the written KPI file: %v", err)
	}
	if len(defs.KPIs) != 7 {
		t.Errorf("the KPI file has %d KPIs, want 7", len(defs.KPIs))
	}

	for _, want := range []string{dbPath, kpiPath, "northstar serve --db " + dbPath + " --kpis " + kpiPath} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not mention %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`Wrote [\d,]+ events of [\d,]+ users`).MatchString(stdout) {
		t.Errorf("stdout does not report the events and users written:\n%s", stdout)
	}
}

// The security docs list the audit log's actors: an e-mail address,
// token:NAME, or cli for the command line, which includes northstar demo.
func TestDemoAuditActorIsCLI(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	if code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "10"); code != exitOK {
		t.Fatalf("exit code %d, want 0; stderr: %s", code, stderr)
	}

	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT DISTINCT actor FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actors []string
	for rows.Next() {
		var actor string
		if err := rows.Scan(&actor); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, actor)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(actors) != 1 || actors[0] != "cli" {
		t.Errorf("audit log actors = %q, want only \"cli\"", actors)
	}
}

func TestDemoRejectsExistingDatabase(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	if code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "10"); code != exitOK {
		t.Fatalf("first run: exit code %d, want 0; stderr: %s", code, stderr)
	}
	before, _, _ := eventCounts(t, dbPath)

	code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "10", "--seed", "2")
	if code != exitInvalid {
		t.Errorf("second run: exit code %d, want %d", code, exitInvalid)
	}
	for _, want := range []string{dbPath + " already exists", "--force"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q: %s", want, stderr)
		}
	}

	after, _, _ := eventCounts(t, dbPath)
	if sumCounts(after) != sumCounts(before) {
		t.Errorf("the refused run changed the database from %d to %d events", sumCounts(before), sumCounts(after))
	}
}

func TestDemoRejectsExistingKPIFile(t *testing.T) {
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "demo.kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte("# my own KPIs\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", filepath.Join(dir, "demo.db"), "--days", "10")
	if code != exitInvalid {
		t.Errorf("exit code %d, want %d", code, exitInvalid)
	}
	if !strings.Contains(stderr, kpiPath+" already exists") {
		t.Errorf("stderr does not name the existing KPI file: %s", stderr)
	}
	if data, _ := os.ReadFile(kpiPath); string(data) != "# my own KPIs\n" {
		t.Errorf("the existing KPI file was changed to %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.db")); err == nil {
		t.Error("the refused run created the database")
	}
}

func TestDemoForceReplacesDemoDatabase(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	if code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "10"); code != exitOK {
		t.Fatalf("first run: exit code %d, want 0; stderr: %s", code, stderr)
	}

	code, _, stderr, ends := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "20", "--seed", "2", "--force")
	if code != exitOK {
		t.Fatalf("run with --force: exit code %d, want 0; stderr: %s", code, stderr)
	}
	checkDemoDatabaseMatches(t, dbPath, 2, 20, ends)
}

func TestDemoForceKeepsOtherDatabase(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "shop.db")
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.InsertEvents(context.Background(), []store.Event{{
		Name: "order", DistinctID: "u1", Timestamp: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Source: "csv", MessageID: "row-2", ReceivedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
	}})
	if closeErr := db.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		t.Fatal(err)
	}

	code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", dbPath, "--days", "10", "--force")
	if code != exitInvalid {
		t.Errorf("exit code %d, want %d", code, exitInvalid)
	}
	if !strings.Contains(stderr, "not a demo database") || !strings.Contains(stderr, "1 events from other sources") {
		t.Errorf("stderr does not explain the refusal: %s", stderr)
	}
	if counts, _, _ := eventCounts(t, dbPath); sumCounts(counts) != 1 || counts["order"] != 1 {
		t.Errorf("the database now has events %v, want the one order", counts)
	}
}

func TestDemoForceKeepsNonDatabaseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	content := "not a database\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--db", path, "--days", "10", "--force")
	if code != exitInvalid {
		t.Errorf("exit code %d, want %d", code, exitInvalid)
	}
	if !strings.Contains(stderr, "not a demo database") {
		t.Errorf("stderr does not explain the refusal: %s", stderr)
	}
	if data, _ := os.ReadFile(path); string(data) != content {
		t.Errorf("the file was changed to %q", data)
	}
}

func TestDemoUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--days", "0"}, "--days 0 is out of range"},
		{[]string{"--days", "100000"}, "--days 100000 is out of range"},
		{[]string{"--days", "many"}, "invalid argument"},
		{[]string{"--db", ""}, "--db is empty"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		args := append([]string{"--no-serve", "--db", filepath.Join(dir, "demo.db")}, c.args...)
		code, _, stderr, _ := runDemoCLI(t, args...)
		if code != exitInvalid {
			t.Errorf("demo %v: exit code %d, want %d", c.args, code, exitInvalid)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("demo %v: stderr %q does not contain %q", c.args, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.db")); err == nil {
		t.Error("a rejected command line created the database")
	}
}

func TestDemoIgnoresNorthstarDB(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	other := filepath.Join(dir, "production.db")
	t.Setenv("NORTHSTAR_DB", other)

	if code, _, stderr, _ := runDemoCLI(t, "--no-serve", "--days", "5"); code != exitOK {
		t.Fatalf("exit code %d, want 0; stderr: %s", code, stderr)
	}
	for _, name := range []string{"northstar-demo.db", "northstar-demo.kpis.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the default demo file %s was not created: %v", name, err)
		}
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("the demo wrote to NORTHSTAR_DB (%s)", other)
	}
}

func TestDemoKPIPath(t *testing.T) {
	cases := map[string]string{
		"northstar-demo.db":     "northstar-demo.kpis.yaml",
		"/tmp/x/demo.sqlite":    "/tmp/x/demo.kpis.yaml",
		"data/demo":             "data/demo.kpis.yaml",
		"data.v2/demo":          "data.v2/demo.kpis.yaml",
		"./my.demo.db":          "./my.demo.kpis.yaml",
		"relative/northstar.db": "relative/northstar.kpis.yaml",
	}
	for db, want := range cases {
		if got := demoKPIPath(db); got != want {
			t.Errorf("demoKPIPath(%q) = %q, want %q", db, got, want)
		}
	}
}

func TestGroupThousands(t *testing.T) {
	cases := map[int]string{0: "0", 999: "999", 1000: "1,000", 278443: "278,443", 1234567: "1,234,567", -4500: "-4,500"}
	for n, want := range cases {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// lockedBuffer is a bytes.Buffer that a running command and the test may use
// at the same time.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDemoServesDashboard(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--db", dbPath, "--days", "30", "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()

	urlPattern := regexp.MustCompile(`serving (http://127\.0\.0\.1:\d+)`)
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		if m := urlPattern.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("demo exited with code %d before serving; stderr: %s", code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo printed no URL within 30 s; stdout: %s", stdout.String())
		}
	}

	// Without signing in, the dashboard sends the browser to the sign-in page.
	anonymous := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := anonymous.Do(req)
	if err != nil {
		t.Fatalf("GET %s/: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("anonymous GET /: status %d to %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Sign in with the account and password that the demo printed.
	creds := regexp.MustCompile(`e-mail: +(\S+)\n +password: +(\S+)\n`).FindStringSubmatch(stdout.String())
	if creds == nil {
		t.Fatalf("the demo printed no e-mail and password; stdout:\n%s", stdout.String())
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	resp, err = client.PostForm(url+"/signin", neturl.Values{"email": {creds[1]}, "password": {creds[2]}})
	if err != nil {
		t.Fatalf("POST %s/signin: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Errorf("sign-in ended at %s with status %d, want the dashboard with 200", resp.Request.URL.Path, resp.StatusCode)
	}
	for _, want := range []string{"Weekly active users", "Revenue", "Grow subscription revenue"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the dashboard does not show %q", want)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("demo exited with code %d after Ctrl+C, want 0; stderr: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15 s of the context being cancelled")
	}
}
