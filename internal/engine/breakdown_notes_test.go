package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// notesKPIs declares plan, and country through the filter of fr_revenue.
const notesKPIs = `workspace: {name: Hand, time_zone: UTC}
dimensions: [plan]
kpis:
  - {id: revenue, name: Revenue, metric: {kind: sum, event: purchase, property: amount}}
  - {id: fr_revenue, name: French revenue, metric: {kind: sum, event: purchase, property: amount, where: {country: fr}}}
  - {id: big_revenue, name: Big orders, metric: {kind: sum, event: purchase, property: amount, where: {amount: {gt: 5}}}}
  - {id: score, name: Score, metric: {kind: nps, event: purchase, property: amount}}
`

func TestBreakdownPathNotes(t *testing.T) {
	defs, err := kpi.Parse("notes.yaml", []byte(notesKPIs))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, indexed := handEngines(t, handEvents(t), defs)

	tests := []struct {
		id, property, path, note string
	}{
		{"revenue", "plan", PathIndex, ""},
		{"revenue", "region", PathSQL, `"region" is not a dimension of the activity index`},
		{"fr_revenue", "plan", PathSQL, `metric fr_revenue: its where filter is on "country", another property than "plan"`},
		{"big_revenue", "plan", PathSQL, `metric big_revenue: its where filter on "amount" uses gt`},
		{"score", "plan", PathMixed, "segment values: the index does not compute nps metrics"},
	}
	for _, tc := range tests {
		b := breakdown(t, indexed, defs, tc.id, tc.property, 10, timegrain.Month, "2026-01-01", "2026-02-28")
		if b.Path != tc.path {
			t.Errorf("%s by %s: path %q, want %q", tc.id, tc.property, b.Path, tc.path)
		}
		notes := strings.Join(b.PathNotes, "\n")
		if tc.note == "" && notes != "" {
			t.Errorf("%s by %s: notes %q, want none", tc.id, tc.property, notes)
		}
		if !strings.Contains(notes, tc.note) {
			t.Errorf("%s by %s: notes %q, want one containing %q", tc.id, tc.property, notes, tc.note)
		}
	}
}

func TestBreakdownPathNoteObjectValue(t *testing.T) {
	defs, err := kpi.Parse("notes.yaml", []byte(notesKPIs))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	events := append(handEvents(t), store.Event{Name: "purchase", DistinctID: "u8", Timestamp: time.Date(2026, time.February, 8, 9, 0, 0, 0, time.UTC),
		Properties: map[string]any{"plan": map[string]any{"tier": "gold"}, "amount": 1.0}, Source: "test", MessageID: "object"})
	_, indexed := handEngines(t, events, defs)

	b := breakdown(t, indexed, defs, "revenue", "plan", 10, timegrain.Month, "2026-01-01", "2026-02-28")
	if b.Path != PathSQL {
		t.Errorf("path %q, want sql", b.Path)
	}
	want := `metric revenue: a value of "plan" in the range is an object, an array or a number that is not a whole number below 2^53`
	if notes := strings.Join(b.PathNotes, "\n"); !strings.Contains(notes, want) {
		t.Errorf("notes %q, want one containing %q", notes, want)
	}
}
