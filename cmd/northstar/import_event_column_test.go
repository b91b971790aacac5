package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportCSVEventColumnFlag(t *testing.T) {
	csvPath := writeTempFile(t, "events.csv", "event,distinct_id,timestamp,plan,amount\n"+
		"signup,u1,2025-01-01T10:00:00Z,free,\n"+
		"purchase,u1,2025-01-02T10:00:00Z,free,29\n"+
		"signup,u2,2025-01-02T11:00:00Z,pro,\n")
	dbPath := filepath.Join(t.TempDir(), "northstar.db")

	code, stdout, stderr := runCLI(t, "import", "csv", csvPath, "--event-column", "event", "--time", "timestamp",
		"--user", "distinct_id", "--prop", "plan=plan", "--prop", "amount=amount:number", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "3 imported") {
		t.Errorf("stdout = %q, want 3 imported", stdout)
	}

	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var signups, purchases int
	var amount float64
	err = db.QueryRow(`SELECT count(*) FILTER (WHERE name = 'signup'), count(*) FILTER (WHERE name = 'purchase'),
		coalesce(sum(json_extract(properties, '$.amount')), 0) FROM events`).Scan(&signups, &purchases, &amount)
	if err != nil {
		t.Fatal(err)
	}
	if signups != 2 || purchases != 1 || amount != 29 {
		t.Errorf("signups %d, purchases %d, amount %g; want 2, 1 and 29", signups, purchases, amount)
	}
}

func TestImportCSVEventFlagsConflict(t *testing.T) {
	csvPath := writeTempFile(t, "x.csv", "event,When,Who\ne,2024-01-01,a\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"both", []string{"--event", "e", "--event-column", "event"}, "--event and --event-column both give the event name"},
		{"neither", nil, "missing required flags: --event NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"import", "csv", csvPath, "--time", "When", "--user", "Who", "--db", filepath.Join(t.TempDir(), "x.db")}, tt.args...)
			code, _, stderr := runCLI(t, args...)
			if code != exitInvalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitInvalid, tt.want)
			}
		})
	}
}
