package main

import (
	"bytes"
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func TestImportCSVBuildsIndex(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "events.csv")
	dbPath := filepath.Join(dir, "northstar.db")
	kpiPath := filepath.Join("..", "..", "bench", "kpis.yaml")

	if code, _, stderr := runCLI(t, "gen", "events", "--events", "6000", "--users", "300", "--days", "60", "--out", csvPath); code != 0 {
		t.Fatalf("gen events: exit %d: %s", code, stderr)
	}
	code, _, stderr := runCLI(t, "import", "csv", csvPath, "--db", dbPath, "--kpis", kpiPath,
		"--event-column", "event", "--time", "timestamp", "--user", "distinct_id",
		"--prop", "plan=plan", "--prop", "country=country", "--prop", "amount=amount:number")
	if code != 0 {
		t.Fatalf("import csv --kpis: exit %d: %s", code, stderr)
	}
	checkImportedIndex(t, dbPath, kpiPath)
}

// TestImportCSVIndexInSmallBatches imports in batches of 700 events, so
// that several batches are stored while the next ones are read, and checks
// the activity index that the import saved.
func TestImportCSVIndexInSmallBatches(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "events.csv")
	dbPath := filepath.Join(dir, "northstar.db")
	kpiPath := filepath.Join("..", "..", "bench", "kpis.yaml")

	if code, _, stderr := runCLI(t, "gen", "events", "--events", "6000", "--users", "300", "--days", "60", "--out", csvPath); code != 0 {
		t.Fatalf("gen events: exit %d: %s", code, stderr)
	}
	defs, err := kpi.LoadFile(kpiPath)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := csvImportOptions("", "event", "timestamp", "distinct_id", defs.Workspace.Location.String(), "",
		[]string{"plan=plan", "country=country", "amount=amount:number"})
	if err != nil {
		t.Fatal(err)
	}
	opts.BatchSize = 700

	var stdout, stderr bytes.Buffer
	g := &globals{dbPath: dbPath, stdout: &stdout, stderr: &stderr}
	if err := runImportCSV(context.Background(), g, csvPath, opts, defs); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	if want := "events.csv: 6000 rows read, 6000 imported, 0 duplicates, 0 skipped\n"; stdout.String() != want {
		t.Errorf("output = %q, want %q", stdout.String(), want)
	}
	checkImportedIndex(t, dbPath, kpiPath)
}

// checkImportedIndex checks that the activity index that an import saved in
// the database at dbPath loads without a rebuild and gives the KPIs of
// kpiPath as an index rebuilt from the stored events does.
func checkImportedIndex(t *testing.T, dbPath, kpiPath string) {
	t.Helper()
	ctx := context.Background()
	defs, err := kpi.LoadFile(kpiPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The import saved an index that fits the KPI file, so loading it
	// rebuilds nothing, and it gives what an index rebuilt from the stored
	// events gives.
	loaded, err := openIndex(ctx, db, defs, nil)
	if err != nil {
		t.Fatalf("load the index: %v", err)
	}
	if n := loaded.Rebuilds(); n != 0 {
		t.Errorf("loading the imported index made %d rebuilds, want 0", n)
	}
	rebuilt := engine.NewActivityIndex(db, defs.Workspace.Location, engine.DeclaredFor(defs), nil)
	if err := rebuilt.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}

	span, err := db.EventSpan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := span.Last.Add(24 * time.Hour)
	r := engine.Range{From: timegrain.DateOf(span.First), To: timegrain.DateOf(span.Last)}
	for _, id := range []string{"dau", "revenue", "purchases"} {
		grain := timegrain.Day
		got, err := engine.NewWithIndex(db, loaded, func() time.Time { return now }).Series(ctx, defs, id, grain, r)
		if err != nil {
			t.Fatalf("%s from the imported index: %v", id, err)
		}
		want, err := engine.NewWithIndex(db, rebuilt, func() time.Time { return now }).Series(ctx, defs, id, grain, r)
		if err != nil {
			t.Fatalf("%s from the rebuilt index: %v", id, err)
		}
		if len(got.Points) != len(want.Points) || len(got.Points) == 0 {
			t.Fatalf("%s: %d points, want %d (and more than 0)", id, len(got.Points), len(want.Points))
		}
		for i := range want.Points {
			g, w := got.Points[i].Value, want.Points[i].Value
			// Sums may differ in the last bits: the two indexes add a day's
			// amounts in different orders.
			if (g == nil) != (w == nil) || g != nil && math.Abs(*g-*w) > 1e-9*math.Max(1, math.Abs(*w)) {
				t.Errorf("%s point %d: imported index gives %v, rebuilt index %v", id, i, deref(g), deref(w))
			}
		}
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// TestImportCSVTimeZoneFromKPIFile checks that with --kpis and no
// --time-zone, dates without a time are midnight in the KPI file's time
// zone, and that --time-zone still overrides it.
func TestImportCSVTimeZoneFromKPIFile(t *testing.T) {
	dir := t.TempDir()
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(`workspace: {name: Acme, time_zone: America/New_York}
kpis:
  - id: orders
    name: Orders
    metric: {kind: count, event: order}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "orders.csv")
	if err := os.WriteFile(csvPath, []byte("user,day\nu1,2009-01-11\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		extra []string
		want  time.Time
	}{
		// Midnight in New York in January (EST, UTC-5) is 05:00 UTC.
		{nil, time.Date(2009, 1, 11, 5, 0, 0, 0, time.UTC)},
		{[]string{"--time-zone", "UTC"}, time.Date(2009, 1, 11, 0, 0, 0, 0, time.UTC)},
	} {
		dbPath := filepath.Join(t.TempDir(), "northstar.db")
		args := append([]string{"import", "csv", csvPath, "--event", "order", "--time", "day", "--user", "user", "--kpis", kpiPath, "--db", dbPath}, tt.extra...)
		if code, _, stderr := runCLI(t, args...); code != exitOK {
			t.Fatalf("import %v: exit %d: %s", tt.extra, code, stderr)
		}
		db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var micros int64
		err = db.QueryRow(`SELECT ts FROM events`).Scan(&micros)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := time.UnixMicro(micros).UTC(); !got.Equal(tt.want) {
			t.Errorf("import with --kpis %v stored 2009-01-11 as %s, want %s", tt.extra, got, tt.want)
		}
	}
}
