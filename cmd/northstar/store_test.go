package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/store/postgres"
	"github.com/northstar-kpi/northstar/internal/store/storetest"
)

// The import and report commands on a postgres:// --db give the sums that
// plain Go computes from the CSV file, as they do on SQLite.
func TestReportPostgresRelayFoods(t *testing.T) {
	ordersPath := sharedDataFile(t, "relay-foods-orders.csv")
	dsn := storetest.PostgresDatabase(t)
	_, months := relayFoodsMonths(t, ordersPath)

	code, _, stderr := runCLI(t, "import", "csv", ordersPath, "--event", "order_placed", "--time", "OrderDate",
		"--user", "UserId", "--prop", "revenue=TotalCharges:number", "--time-zone", "America/New_York", "--db", dsn)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	// The import leaves the planner statistics of its rows in place.
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := db.OpenSQL()
	var analyzed bool
	err = sqlDB.QueryRow(`SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'events'`).Scan(&analyzed)
	sqlDB.Close()
	db.Close()
	if err != nil || !analyzed {
		t.Errorf("events table analyzed after the import = %v (%v), want true", analyzed, err)
	}

	rows := reportRows(t, "--kpis", "../../examples/relay-foods/kpis.yaml", "--db", dsn, "--from", "2009-01-01")

	checked := 0
	for month, totals := range months {
		period := month.Format(time.DateOnly)
		row, ok := rows["active_customers"][period]
		if !ok {
			t.Errorf("active_customers has no row for %s", period)
			continue
		}
		if got, want := parseCell(t, row[2]), float64(len(totals.customers)); got != want {
			t.Errorf("active_customers %s = %v, want %v", period, got, want)
		}
		if got := parseCell(t, rows["revenue"][period][2]); math.Abs(got-totals.revenue) > 0.005 {
			t.Errorf("revenue %s = %v, want %.2f", period, got, totals.revenue)
		}
		checked++
	}
	if checked != 15 {
		t.Errorf("checked %d months, want 15 (2009-01 to 2010-03)", checked)
	}
}

// northstar serve on a postgres:// --db takes Segment calls with a write key
// and computes the KPIs from them, aliases and retries included.
//
// On 2026-03-09 anon-1 plays at 10:00, is identified as user-1, who plays at
// 11:00, and user-2 plays at 12:00 in a batch sent twice: 3 plays by 2 people.
func TestServePostgresIngest(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	ctx := context.Background()
	kpiPath := writeTempFile(t, "kpis.yaml", ingestTestKPIs)

	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := db.CreateWriteKey(ctx, "web")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	m := &Main{
		Addr:    "127.0.0.1:0",
		DBPath:  dsn,
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
	auth := []string{"Authorization", basicAuth(secret)}

	postIngest(t, m.URL()+"/v1/track", `{"event": "Song Played", "anonymousId": "anon-1", "messageId": "s1", "timestamp": "2026-03-09T10:00:00Z"}`,
		http.StatusOK, auth...)
	postIngest(t, m.URL()+"/v1/identify", `{"anonymousId": "anon-1", "userId": "user-1", "traits": {"plan": "pro"}, "timestamp": "2026-03-09T10:30:00Z"}`,
		http.StatusOK, auth...)
	postIngest(t, m.URL()+"/v1/track", `{"event": "Song Played", "userId": "user-1", "messageId": "s2", "timestamp": "2026-03-09T11:00:00Z"}`,
		http.StatusOK, auth...)
	batch := `{"batch": [{"type": "track", "event": "Song Played", "userId": "user-2", "messageId": "s3", "timestamp": "2026-03-09T12:00:00Z"}]}`
	for range 2 {
		postIngest(t, m.URL()+"/v1/batch", batch, http.StatusOK, auth...)
	}

	if got := dayValue(t, m, "plays"); got != 3 {
		t.Errorf("plays on 2026-03-09 = %v, want 3", got)
	}
	if got := dayValue(t, m, "listeners"); got != 2 {
		t.Errorf("listeners on 2026-03-09 = %v, want 2 (anon-1/user-1 and user-2)", got)
	}

	ready, err := http.Get(m.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: status %d, want 200", ready.StatusCode)
	}
}
