package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenEventsCommand(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "a.ndjson")
	second := filepath.Join(dir, "b.ndjson")
	args := []string{"gen", "events", "--events", "2000", "--users", "100", "--days", "30", "--seed", "3", "--format", "ndjson"}

	for _, out := range []string{first, second} {
		code, stdout, stderr := runCLI(t, append(args, "--out", out)...)
		if code != exitOK {
			t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, "2000 events by 100 users over 30 days") {
			t.Errorf("stdout = %q, want the counts", stdout)
		}
	}

	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(a, []byte("\n")); lines != 2000 {
		t.Errorf("lines = %d, want 2000", lines)
	}
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same flags wrote different files")
	}
}

func TestGenEventsUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "e.csv")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"gen", "events"}, "--out FILE is required"},
		{"bad start", []string{"gen", "events", "--out", out, "--start", "May 1"}, `--start "May 1" is not a date`},
		{"too few events", []string{"gen", "events", "--out", out, "--events", "5", "--users", "10"}, "fewer than the 10 users"},
		{"unknown kind", []string{"gen", "people"}, `unknown kind "people"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != exitInvalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitInvalid, tt.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s behind (stat error %v)", out, err)
	}
}
