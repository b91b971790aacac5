package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listTimes returns the times in UTC that the lines of a list show, and
// fails when a line shows a date without the UTC zone after it.
func listTimes(t *testing.T, output string) []time.Time {
	t.Helper()
	var times []time.Time
	for _, line := range strings.Split(strings.TrimSpace(output), "\n")[1:] {
		if bare := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( UTC)?`).FindAllStringSubmatch(line, -1); len(bare) == 0 {
			t.Errorf("line %q shows no time", line)
		} else {
			for _, m := range bare {
				if m[1] == "" {
					t.Errorf("line %q shows %q without a time zone", line, m[0])
					continue
				}
				at, err := time.Parse("2006-01-02 15:04:05 MST", m[0])
				if err != nil {
					t.Errorf("line %q: %v", line, err)
					continue
				}
				times = append(times, at)
			}
		}
	}
	return times
}

// checkRecent fails unless every time lies between before and after, to the
// second that the list shows.
func checkRecent(t *testing.T, command string, times []time.Time, before, after time.Time) {
	t.Helper()
	for _, at := range times {
		if at.Before(before.Truncate(time.Second)) || at.After(after) {
			t.Errorf("%s shows %s, want a time from %s to %s", command, at, before.UTC(), after.UTC())
		}
	}
}

func TestListTimesInUTC(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "northstar.db")
	before := time.Now()

	if code, _, errOut := runWithStdin(t, "", "tokens", "create", "--name", "reports", "--role", "viewer", "--db", dbPath); code != exitOK {
		t.Fatalf("tokens create: %s", errOut)
	}
	if code, _, errOut := runWithStdin(t, "", "tokens", "revoke", "--name", "reports", "--db", dbPath); code != exitOK {
		t.Fatalf("tokens revoke: %s", errOut)
	}
	if code, _, errOut := runWithStdin(t, "", "keys", "create", "--name", "web", "--db", dbPath); code != exitOK {
		t.Fatalf("keys create: %s", errOut)
	}
	if code, _, errOut := runWithStdin(t, "", "keys", "revoke", "--name", "web", "--db", dbPath); code != exitOK {
		t.Fatalf("keys revoke: %s", errOut)
	}
	after := time.Now()

	code, out, errOut := runWithStdin(t, "", "tokens", "list", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("tokens list: %s", errOut)
	}
	times := listTimes(t, out)
	if len(times) != 2 {
		t.Errorf("tokens list shows %d times, want created and revoked:\n%s", len(times), out)
	}
	checkRecent(t, "tokens list", times, before, after)

	code, out, errOut = runWithStdin(t, "", "keys", "list", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("keys list: %s", errOut)
	}
	times = listTimes(t, out)
	if len(times) != 2 {
		t.Errorf("keys list shows %d times, want created and revoked:\n%s", len(times), out)
	}
	checkRecent(t, "keys list", times, before, after)
}
