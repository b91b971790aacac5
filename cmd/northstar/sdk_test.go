package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthog/posthog-go"
	segment "gopkg.in/segmentio/analytics-go.v3"

	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// These tests send events with the real Segment and PostHog SDKs, for Node.js
// and Go, to a server on a loopback port, through a proxy that hides the
// server's response to some requests so that the SDK sends them again. Every
// SDK makes the same calls (see sendSegmentGo and testdata/sdk/*.mjs):
//
//   - anon-1 plays 2 songs, is identified as user-1 and plays 1 song.
//   - anon-2 plays 1 song, is aliased to user-2, who plays 1 song.
//   - user-9 is identified and plays nothing. user-1 views a page.
//   - user-3 ... user-7 play sdkBatchEvents songs in turn.
//
// So the server must count sdkBatchEvents+5 plays by 7 people, because each
// person's anonymous and identified plays count as one person's.
const (
	sdkBatchEvents   = 40
	sdkWantPlays     = sdkBatchEvents + 5
	sdkWantListeners = 7
	sdkPlayEvent     = "Song Played"
)

// sdkTestKPIs counts the plays and the people who played, per day.
const sdkTestKPIs = `
workspace:
  name: SDK test
  time_zone: UTC
  week_start: monday
kpis:
  - id: plays
    name: Songs played
    unit: plays
    direction: up
    grain: day
    metric: {kind: count, event: Song Played}
  - id: listeners
    name: Listeners
    unit: people
    direction: up
    grain: day
    metric: {kind: unique_users, event: Song Played}
`

// sdkHiddenResponses are the POST requests, by number, whose response the
// proxy hides, so that the SDK retries them although the server stored them.
var sdkHiddenResponses = []int{1, 3}

// sdkServer is a server started for one SDK test, with a fresh database.
type sdkServer struct {
	URL    string
	Key    string // write key secret
	DBPath string
	Day    time.Time // midnight UTC of the day all events happen on
	logs   *bytes.Buffer
}

// startSDKServer creates a database with a write key, writes the KPI file
// and starts Main on a free loopback port with the real clock, because the
// server corrects event times by the SDK's sending time.
func startSDKServer(t *testing.T) *sdkServer {
	t.Helper()
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(sdkTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	dbPath := filepath.Join(dir, "northstar.db")
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := db.CreateWriteKey(ctx, "sdk-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	logs := &bytes.Buffer{}
	m := &Main{
		Addr:    "127.0.0.1:0",
		DBPath:  dbPath,
		KPIPath: kpiPath,
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
	}
	if err := m.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})

	registerAdminToken(t, m)

	// Two days ago is complete, and far enough from today that neither
	// latency nor a retry moves an event to another day.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	return &sdkServer{URL: m.URL(), Key: secret, DBPath: dbPath, Day: day, logs: logs}
}

// noon returns the time of the i-th event of a run: noon UTC on the test
// day, plus i seconds.
func (s *sdkServer) noon(i int) time.Time {
	return s.Day.Add(12*time.Hour + time.Duration(i)*time.Second)
}

// checkCounts checks the plays and listeners KPIs of the test day through
// the JSON API, and the stored events with plain SQL.
func (s *sdkServer) checkCounts(t *testing.T, sdk string) {
	t.Helper()
	day := s.Day.Format(time.DateOnly)
	before := s.Day.AddDate(0, 0, -1).Format(time.DateOnly)
	after := s.Day.AddDate(0, 0, 1).Format(time.DateOnly)

	// The range spans a day on each side, so that an event stored on the
	// wrong day still shows up in the sum.
	plays := s.dayValues(t, "plays", before, after)
	var total float64
	for _, v := range plays {
		total += v
	}
	if total != sdkWantPlays {
		t.Errorf("%s: plays from %s to %s = %g, want %d", sdk, before, after, total, sdkWantPlays)
	}
	if plays[day] != sdkWantPlays {
		t.Errorf("%s: plays on %s = %g, want %d (all per day: %v)", sdk, day, plays[day], sdkWantPlays, plays)
	}

	listeners := s.dayValues(t, "listeners", day, day)
	if listeners[day] != sdkWantListeners {
		t.Errorf("%s: listeners on %s = %g, want %d (anon-1 is user-1 and anon-2 is user-2)", sdk, day, listeners[day], sdkWantListeners)
	}

	db, err := sql.Open("sqlite", "file:"+s.DBPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var rows, messageIDs, people int
	err = db.QueryRow(`SELECT count(*), count(DISTINCT message_id), count(DISTINCT user_id) FROM events WHERE name = ?`,
		sdkPlayEvent).Scan(&rows, &messageIDs, &people)
	if err != nil {
		t.Fatal(err)
	}
	if rows != sdkWantPlays || messageIDs != sdkWantPlays {
		t.Errorf("%s: events table has %d %q rows with %d message IDs, want %d of each", sdk, rows, sdkPlayEvent, messageIDs, sdkWantPlays)
	}
	if people != sdkWantListeners {
		t.Errorf("%s: %q rows belong to %d user ids, want %d", sdk, sdkPlayEvent, people, sdkWantListeners)
	}

	var others int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE name <> ?`, sdkPlayEvent).Scan(&others); err != nil {
		t.Fatal(err)
	}
	if others != 1 {
		t.Errorf("%s: events table has %d events other than %q, want 1 (the page view)", sdk, others, sdkPlayEvent)
	}

	// The identify calls set the trait "plan" of user-1 and user-9.
	for user, want := range map[string]string{"user-1": "pro", "user-9": "free"} {
		var plan sql.NullString
		err := db.QueryRow(`SELECT json_extract(traits, '$.plan') FROM users WHERE distinct_id = ?`, user).Scan(&plan)
		if err != nil {
			t.Errorf("%s: reading the traits of %s: %v", sdk, user, err)
			continue
		}
		if plan.String != want {
			t.Errorf("%s: trait plan of %s = %q, want %q", sdk, user, plan.String, want)
		}
	}
}

// dayValues returns a KPI's daily values from `from` to `to`, both
// YYYY-MM-DD, by period start date.
func (s *sdkServer) dayValues(t *testing.T, kpiID, from, to string) map[string]float64 {
	t.Helper()
	var series struct {
		Points []struct {
			Start time.Time `json:"period_start"`
			Value *float64  `json:"value"`
		} `json:"points"`
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/kpis/%s/series?grain=day&from=%s&to=%s", s.URL, kpiID, from, to), 200, &series)

	values := map[string]float64{}
	for _, p := range series.Points {
		if p.Value != nil {
			values[p.Start.UTC().Format(time.DateOnly)] = *p.Value
		}
	}
	return values
}

// requireNodeSDKs skips the test when node or the SDK packages are missing,
// or fails it under CI=true, where scripts/test.sh has installed them.
func requireNodeSDKs(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}

	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	}
	for _, pkg := range []string{"@segment/analytics-node", "posthog-node"} {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil && missing == "" {
			missing = fmt.Sprintf("node_modules/%s is missing (run `npm ci` in %s, or `make test`)", pkg, root)
		}
	}
	if missing == "" {
		return root
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the Node.js SDK tests cannot run: %s", missing)
	}
	t.Skipf("skipping the Node.js SDK tests: %s", missing)
	return ""
}

// runNodeScript runs one of testdata/sdk/*.mjs against host and fails the
// test when it exits with an error.
func runNodeScript(t *testing.T, script, host, key, run string, day time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	cmd := exec.CommandContext(ctx, "node", filepath.Join("testdata", "sdk", script),
		"--host", host, "--key", key, "--events", fmt.Sprint(sdkBatchEvents),
		"--run", run, "--day", day.Format(time.DateOnly))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out.String())
	}
	t.Logf("node %s: %s", script, strings.TrimSpace(out.String()))
}

// testNodeSDK runs a Node.js SDK script through a proxy that hides some
// responses and checks the counts. Then it runs the script again with the
// same message IDs, as an app that re-sends its queue after a restart does,
// and checks that nothing was counted twice.
func testNodeSDK(t *testing.T, script string) {
	requireNodeSDKs(t)
	srv := startSDKServer(t)
	proxy := startSDKProxy(t, srv.URL, sdkHiddenResponses...)

	runNodeScript(t, script, proxy.URL(), srv.Key, "first", srv.Day)
	proxy.checkExchanges(t, script)
	srv.checkCounts(t, script)

	runNodeScript(t, script, srv.URL, srv.Key, "first", srv.Day)
	srv.checkCounts(t, script+" sent twice")
}

func TestSegmentNodeSDK(t *testing.T) { testNodeSDK(t, "segment.mjs") }

func TestPostHogNodeSDK(t *testing.T) { testNodeSDK(t, "posthog.mjs") }

// deliveries counts the messages an SDK reports as delivered or dropped.
type deliveries struct {
	mu        sync.Mutex
	delivered int
	failures  []string
}

func (d *deliveries) success() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delivered++
}

func (d *deliveries) failure(msg any, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failures = append(d.failures, fmt.Sprintf("%T: %v", msg, err))
}

// wait waits until the SDK has reported want messages as delivered or
// dropped, or 30 seconds have passed. Both Go SDKs drop the messages of a
// request that waits for its retry when Close is called (posthog-go v1.5.2
// and analytics-go v3.1.0, in client.send), so the tests wait before Close.
func (d *deliveries) wait(want int) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		reported := d.delivered + len(d.failures)
		d.mu.Unlock()
		if reported >= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// check fails the test unless every one of want messages was delivered.
func (d *deliveries) check(t *testing.T, sdk string, want int, logs *bytes.Buffer) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.failures) > 0 || d.delivered != want {
		t.Errorf("%s: %d of %d messages delivered, %d dropped: %v\nSDK log:\n%s",
			sdk, d.delivered, want, len(d.failures), d.failures, logs)
	}
}

// segmentCallback reports analytics-go's deliveries.
type segmentCallback struct{ *deliveries }

func (c segmentCallback) Success(segment.Message)            { c.success() }
func (c segmentCallback) Failure(m segment.Message, e error) { c.failure(m, e) }

// postHogCallback reports posthog-go's deliveries.
type postHogCallback struct{ *deliveries }

func (c postHogCallback) Success(posthog.APIMessage)            { c.success() }
func (c postHogCallback) Failure(m posthog.APIMessage, e error) { c.failure(m, e) }

// sdkRetryAfter makes the Go SDKs retry a failed request after 20 ms. Their
// default backoff starts at 100 ms and doubles up to 10 s (posthog-go v1.5.2,
// analytics-go v3.1.0).
func sdkRetryAfter(int) time.Duration { return 20 * time.Millisecond }

func TestSegmentGoSDK(t *testing.T) {
	srv := startSDKServer(t)
	proxy := startSDKProxy(t, srv.URL, sdkHiddenResponses...)

	logs := &bytes.Buffer{}
	sent := &deliveries{}
	client, err := segment.NewWithConfig(srv.Key, segment.Config{
		Endpoint:   proxy.URL(),
		Interval:   100 * time.Millisecond,
		BatchSize:  10,
		RetryAfter: sdkRetryAfter,
		Callback:   segmentCallback{sent},
		Logger:     segment.StdLogger(log.New(logs, "", 0)),
	})
	if err != nil {
		t.Fatal(err)
	}

	calls := sendSegmentGo(t, client, srv)
	sent.wait(calls)
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	sent.check(t, "analytics-go", calls, logs)
	proxy.checkExchanges(t, "analytics-go")
	srv.checkCounts(t, "analytics-go")
}

// sendSegmentGo makes the calls of the package comment with analytics-go,
// whose message IDs it leaves to the SDK, and returns how many it made.
func sendSegmentGo(t *testing.T, client segment.Client, srv *sdkServer) int {
	t.Helper()
	calls, second := 0, 0
	enqueue := func(m segment.Message) {
		calls++
		second++
		if err := client.Enqueue(m); err != nil {
			t.Fatalf("Enqueue %T: %v", m, err)
		}
	}
	play := func(userID, anonymousID, song string) {
		enqueue(segment.Track{UserId: userID, AnonymousId: anonymousID, Event: sdkPlayEvent,
			Properties: segment.NewProperties().Set("song", song), Timestamp: srv.noon(second)})
	}

	play("", "anon-1", "anon-1-a")
	play("", "anon-1", "anon-1-b")
	enqueue(segment.Identify{UserId: "user-1", AnonymousId: "anon-1", Traits: segment.NewTraits().Set("plan", "pro"), Timestamp: srv.noon(second)})
	play("user-1", "", "user-1-a")

	play("", "anon-2", "anon-2-a")
	enqueue(segment.Alias{UserId: "user-2", PreviousId: "anon-2", Timestamp: srv.noon(second)})
	play("user-2", "", "user-2-a")

	enqueue(segment.Identify{UserId: "user-9", Traits: segment.NewTraits().Set("plan", "free"), Timestamp: srv.noon(second)})
	enqueue(segment.Page{UserId: "user-1", Name: "Home", Timestamp: srv.noon(second)})

	for i := range sdkBatchEvents {
		play(fmt.Sprintf("user-%d", 3+i%5), "", fmt.Sprintf("batch-%d", i))
	}
	return calls
}

func TestPostHogGoSDK(t *testing.T) {
	srv := startSDKServer(t)
	proxy := startSDKProxy(t, srv.URL, sdkHiddenResponses...)

	logs := &bytes.Buffer{}
	sent := &deliveries{}
	client, err := posthog.NewWithConfig(srv.Key, posthog.Config{
		Endpoint:   proxy.URL(),
		Interval:   100 * time.Millisecond,
		BatchSize:  10,
		RetryAfter: sdkRetryAfter,
		Callback:   postHogCallback{sent},
		Logger:     posthog.StdLogger(log.New(logs, "", 0)),
	})
	if err != nil {
		t.Fatal(err)
	}

	calls := sendPostHogGo(t, client, srv)
	sent.wait(calls)
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	sent.check(t, "posthog-go", calls, logs)
	proxy.checkExchanges(t, "posthog-go")
	srv.checkCounts(t, "posthog-go")
}

// sendPostHogGo makes the calls of the package comment with posthog-go and
// returns how many it made. posthog-go's Identify has no field for an
// anonymous ID, so an Alias links anon-1 to user-1. posthog-go sends an
// empty UUID unless one is set, so the server derives the message IDs.
func sendPostHogGo(t *testing.T, client posthog.Client, srv *sdkServer) int {
	t.Helper()
	calls, second := 0, 0
	enqueue := func(m posthog.Message) {
		calls++
		second++
		if err := client.Enqueue(m); err != nil {
			t.Fatalf("Enqueue %T: %v", m, err)
		}
	}
	play := func(distinctID, song string) {
		enqueue(posthog.Capture{DistinctId: distinctID, Event: sdkPlayEvent,
			Properties: posthog.NewProperties().Set("song", song), Timestamp: srv.noon(second)})
	}

	play("anon-1", "anon-1-a")
	play("anon-1", "anon-1-b")
	enqueue(posthog.Identify{DistinctId: "user-1", Properties: posthog.NewProperties().Set("plan", "pro"), Timestamp: srv.noon(second)})
	enqueue(posthog.Alias{DistinctId: "user-1", Alias: "anon-1", Timestamp: srv.noon(second)})
	play("user-1", "user-1-a")

	play("anon-2", "anon-2-a")
	enqueue(posthog.Alias{DistinctId: "user-2", Alias: "anon-2", Timestamp: srv.noon(second)})
	play("user-2", "user-2-a")

	enqueue(posthog.Identify{DistinctId: "user-9", Properties: posthog.NewProperties().Set("plan", "free"), Timestamp: srv.noon(second)})
	enqueue(posthog.Capture{DistinctId: "user-1", Event: "$pageview", Timestamp: srv.noon(second),
		Properties: posthog.NewProperties().Set("$current_url", "http://127.0.0.1/home")})

	for i := range sdkBatchEvents {
		play(fmt.Sprintf("user-%d", 3+i%5), fmt.Sprintf("batch-%d", i))
	}
	return calls
}
