package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

func TestScanEventsOrderFiltersAndKeys(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "scan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	at := func(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }
	events := []store.Event{
		{Name: "order", DistinctID: "b", Timestamp: at(3), Properties: map[string]any{"amount": 20, "plan": "pro"}},
		{Name: "order", DistinctID: "a", Timestamp: at(1), Properties: map[string]any{"amount": 10.5, "plan": "free"}},
		{Name: "signup", DistinctID: "a", Timestamp: at(0)},
		{Name: "order", DistinctID: "a", Timestamp: at(5), Properties: map[string]any{"plan": "pro"}},
		{Name: "order", DistinctID: "c", Timestamp: at(9), Properties: map[string]any{"amount": 99}},
	}
	for i := range events {
		events[i].Source, events[i].MessageID, events[i].ReceivedAt = "test", string(rune('a'+i)), at(10)
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	var rows []store.EventRow
	err = db.ScanEvents(ctx, store.ScanQuery{
		Events:   []string{"order"},
		Filters:  []kpi.Filter{{Property: "plan", Op: kpi.OpIn, Values: []any{"pro", "free"}}},
		From:     at(1),
		To:       at(9),
		Property: "amount",
		Keys:     []string{"plan", "missing"},
	}, func(r store.EventRow) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Orders at 01:00 (a, 10.5, free), 03:00 (b, 20, pro), 05:00 (a, no amount, pro);
	// the signup and the order at 09:00 (the end is exclusive) are left out.
	want := []struct {
		hour     int
		value    float64
		hasValue bool
		plan     string
	}{{1, 10.5, true, "free"}, {3, 20, true, "pro"}, {5, 0, false, "pro"}}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if !r.Timestamp.Equal(at(w.hour)) || r.Value != w.value || r.HasValue != w.hasValue || r.Keys[0] != w.plan || r.Keys[1] != "" {
			t.Errorf("row %d = %+v, want %02d:00 value %v (%v) plan %s", i, r, w.hour, w.value, w.hasValue, w.plan)
		}
	}
	if rows[0].UserID != rows[2].UserID || rows[0].UserID == rows[1].UserID {
		t.Errorf("user ids %d, %d, %d: want a's two orders to share one id that b does not have", rows[0].UserID, rows[1].UserID, rows[2].UserID)
	}
}

func TestScanEventsKeysSpellBooleans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "scan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []store.Event
	for i, props := range []map[string]any{{"paid": true, "n": 3}, {"paid": false, "n": 2.5}} {
		events = append(events, store.Event{Name: "flag", DistinctID: "c", Timestamp: at.Add(time.Duration(i) * time.Hour),
			Properties: props, Source: "test", MessageID: fmt.Sprint(i), ReceivedAt: at})
	}
	if _, err := db.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	var got []string
	err = db.ScanEvents(ctx, store.ScanQuery{Events: []string{"flag"}, Keys: []string{"paid", "n"}}, func(r store.EventRow) error {
		got = append(got, strings.Join(r.Keys, "/"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "true/3,false/2.5"; strings.Join(got, ",") != want {
		t.Errorf("keys = %v, want %s", got, want)
	}
}
