package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store/sqlite"
)

// ingestTestKPIs counts the plays and the people who played, per day.
const ingestTestKPIs = `
workspace:
  name: Ingest test
  time_zone: UTC
  week_start: monday
kpis:
  - id: plays
    name: Plays
    owner: ana@example.com
    unit: plays
    direction: up
    grain: day
    metric: {kind: count, event: Song Played}
  - id: listeners
    name: Listeners
    owner: ana@example.com
    unit: people
    direction: up
    grain: day
    metric: {kind: unique_users, event: Song Played}
`

// ingestTestKeys holds the write key secrets of one test database.
type ingestTestKeys struct {
	web     string // source "web", for the Segment requests
	app     string // source "app", for the PostHog requests
	revoked string // source "old", revoked
}

// startIngestMain creates a database with write keys and starts Main on a
// free loopback port with the clock at serveTestNow (2026-03-10 12:00 UTC).
func startIngestMain(t *testing.T) (*Main, string, ingestTestKeys) {
	t.Helper()
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(ingestTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	dbPath := filepath.Join(dir, "northstar.db")
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var keys ingestTestKeys
	for name, secret := range map[string]*string{"web": &keys.web, "app": &keys.app, "old": &keys.revoked} {
		if _, *secret, err = db.CreateWriteKey(ctx, name); err != nil {
			t.Fatalf("create write key %s: %v", name, err)
		}
	}
	if err := db.RevokeWriteKey(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	m := &Main{
		Addr:    "127.0.0.1:0",
		DBPath:  dbPath,
		KPIPath: kpiPath,
		Now:     func() time.Time { return serveTestNow },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := m.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	registerAdminToken(t, m)
	return m, dbPath, keys
}

// postIngest sends body to url with the given headers as name, value pairs,
// checks the status and returns the response body.
func postIngest(t *testing.T, url, body string, wantStatus int, headers ...string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("POST %s: status %d, want %d; body:\n%s", url, resp.StatusCode, wantStatus, data)
	}

	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("POST %s: body is not a JSON object: %v\n%s", url, err, data)
	}
	return out
}

func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// dayValue returns the value of KPI id on 2026-03-09 from the series API.
func dayValue(t *testing.T, m *Main, id string) float64 {
	t.Helper()
	var series struct {
		Points []struct {
			PeriodStart time.Time `json:"period_start"`
			Value       *float64  `json:"value"`
			Partial     bool      `json:"partial"`
		} `json:"points"`
	}
	getJSON(t, m.URL()+"/api/v1/kpis/"+id+"/series?grain=day&from=2026-03-08&to=2026-03-09", http.StatusOK, &series)

	day := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	for _, p := range series.Points {
		if p.PeriodStart.Equal(day) {
			if p.Value == nil {
				t.Fatalf("%s on 2026-03-09 has no value", id)
			}
			if p.Partial {
				t.Errorf("%s on 2026-03-09 is partial, but the day is over", id)
			}
			return *p.Value
		}
	}
	t.Fatalf("%s series has no point for 2026-03-09: %+v", id, series.Points)
	return 0
}

// TestIngestCountsEachEventOnce sends Segment and PostHog requests, retries
// included, to a running server and checks the KPIs against a hand count.
//
// On 2026-03-09 these plays arrive:
//
//	Segment: anon-1 at 10:00, then anon-1 is identified as user-1, who plays
//	at 11:00; a batch with user-2 at 12:00 and user-1 at 13:00 (and a page
//	view and a rejected call), sent twice.
//	PostHog: ph-anon at 15:00, then ph-anon is identified as user-3, who
//	plays at 16:00; the batch is sent twice.
//
// That is 6 plays by 3 people: anon-1/user-1, user-2 and ph-anon/user-3.
func TestIngestCountsEachEventOnce(t *testing.T) {
	m, dbPath, keys := startIngestMain(t)
	segmentAuth := []string{"Authorization", basicAuth(keys.web)}

	postIngest(t, m.URL()+"/v1/track", `{"event": "Song Played", "anonymousId": "anon-1", "messageId": "s1", "timestamp": "2026-03-09T10:00:00Z"}`,
		http.StatusOK, segmentAuth...)
	postIngest(t, m.URL()+"/v1/identify", `{"anonymousId": "anon-1", "userId": "user-1", "traits": {"plan": "pro"}, "timestamp": "2026-03-09T10:30:00Z"}`,
		http.StatusOK, segmentAuth...)
	postIngest(t, m.URL()+"/v1/track", `{"event": "Song Played", "userId": "user-1", "anonymousId": "anon-1", "messageId": "s2", "timestamp": "2026-03-09T11:00:00Z"}`,
		http.StatusOK, segmentAuth...)

	// The batch is in Segment's clock-skew form: its client clock runs an
	// hour ahead, so 13:00 and 14:00 by the client are 12:00 and 13:00 here.
	batch := `{"sentAt": "2026-03-10T13:00:00Z", "batch": [
		{"type": "track", "event": "Song Played", "userId": "user-2", "messageId": "s3", "originalTimestamp": "2026-03-09T13:00:00Z"},
		{"type": "track", "event": "Song Played", "userId": "user-1", "messageId": "s4", "originalTimestamp": "2026-03-09T14:00:00Z"},
		{"type": "page", "userId": "user-2", "name": "Library", "messageId": "p1", "originalTimestamp": "2026-03-09T14:30:00Z"},
		{"type": "track", "userId": "user-2", "messageId": "bad"}
	]}`
	for attempt := 1; attempt <= 2; attempt++ {
		body := postIngest(t, m.URL()+"/v1/batch", batch, http.StatusOK, segmentAuth...)
		if body["success"] != true {
			t.Errorf("batch attempt %d: body %v, want success", attempt, body)
		}
		errs, _ := body["errors"].([]any)
		if len(errs) != 1 {
			t.Errorf("batch attempt %d: errors %v, want one for the call without an event name", attempt, body["errors"])
		}
	}

	postHog := `{"api_key": "` + keys.app + `", "batch": [
		{"event": "Song Played", "distinct_id": "ph-anon", "uuid": "0195a000-0000-7000-8000-000000000001", "timestamp": "2026-03-09T15:00:00Z"},
		{"event": "$identify", "distinct_id": "user-3", "properties": {"$anon_distinct_id": "ph-anon"}, "$set": {"email": "user3@example.com"}, "timestamp": "2026-03-09T15:30:00Z"},
		{"event": "Song Played", "distinct_id": "user-3", "uuid": "0195a000-0000-7000-8000-000000000002", "timestamp": "2026-03-09T16:00:00Z"}
	]}`
	for attempt := 1; attempt <= 2; attempt++ {
		if body := postIngest(t, m.URL()+"/batch/", postHog, http.StatusOK); body["status"] != 1.0 {
			t.Errorf("PostHog attempt %d: body %v, want status 1", attempt, body)
		}
	}

	revoked := postIngest(t, m.URL()+"/v1/track", `{"event": "Song Played", "userId": "user-9"}`, http.StatusUnauthorized,
		"Authorization", basicAuth(keys.revoked))
	if detail, _ := revoked["error"].(map[string]any); detail["code"] != "unauthorized" {
		t.Errorf("revoked key: body %v, want code unauthorized", revoked)
	}

	if got := dayValue(t, m, "plays"); got != 6 {
		t.Errorf("plays on 2026-03-09 = %v, want 6", got)
	}
	if got := dayValue(t, m, "listeners"); got != 3 {
		t.Errorf("listeners on 2026-03-09 = %v, want 3 (anon-1/user-1, user-2, ph-anon/user-3)", got)
	}

	ready, err := http.Get(m.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: status %d, want 200", ready.StatusCode)
	}
	metrics := getText(t, m.URL()+"/metrics")
	for _, line := range []string{
		`northstar_ingest_events_accepted_total{protocol="segment"} 5`,
		`northstar_ingest_events_deduplicated_total{protocol="segment"} 3`,
		`northstar_ingest_events_accepted_total{protocol="posthog"} 2`,
		`northstar_ingest_events_deduplicated_total{protocol="posthog"} 2`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	checkIngestedRows(t, dbPath)
}

// checkIngestedRows checks the stored events with plain SQL.
func checkIngestedRows(t *testing.T, dbPath string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	rows, err := db.SQL().QueryContext(ctx, `
		SELECT source, name, distinct_id, ts FROM events ORDER BY ts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	var got []string
	for rows.Next() {
		var source, name, distinctID string
		var ts int64
		if err := rows.Scan(&source, &name, &distinctID, &ts); err != nil {
			t.Fatal(err)
		}
		got = append(got, source+" "+name+" "+distinctID+" "+time.UnixMicro(ts).UTC().Format("15:04"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"web Song Played anon-1 10:00",
		"web Song Played user-1 11:00",
		"web Song Played user-2 12:00",
		"web Song Played user-1 13:00",
		"web page user-2 13:30",
		"app Song Played ph-anon 15:00",
		"app Song Played user-3 16:00",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// getText requests url and returns its body, checking for status 200.
func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := authGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", url, resp.StatusCode, buf.String())
	}
	return buf.String()
}
