package ingest

import (
	"context"
	"strings"
	"testing"
)

func TestParsePropMappingScore(t *testing.T) {
	got, err := ParsePropMapping("score=How likely are you to recommend us?:score")
	if err != nil {
		t.Fatal(err)
	}
	if want := (PropMapping{Name: "score", Column: "How likely are you to recommend us?", Score: true}); got != want {
		t.Errorf("ParsePropMapping = %+v, want %+v", got, want)
	}

	if _, err := ParsePropMapping("score=:score"); err == nil || !strings.Contains(err.Error(), "names no column before :score") {
		t.Errorf("empty column error = %v", err)
	}
	if _, err := ParsePropMapping("score=Rating:int"); err == nil || !strings.Contains(err.Error(), ":score for 0–10 scores") {
		t.Errorf("unknown type error = %v, want it to offer :score", err)
	}
}

func TestImportCSVScoreRange(t *testing.T) {
	input := "When,Who,Rating\n" +
		"2026-01-01,a,0\n" +
		"2026-01-01,b,10\n" +
		"2026-01-01,c,8.5\n" +
		"2026-01-01,d,11\n" + // line 5
		"2026-01-01,e,-1\n" + // line 6
		"2026-01-01,f,great\n" + // line 7
		"2026-01-01,g,\n" // no answer: imported without a score
	opts := CSVOptions{
		Event: "survey", TimeColumn: "When", UserColumn: "Who",
		Props: []PropMapping{{Name: "score", Column: "Rating", Score: true}},
		Now:   fixedClock(),
	}
	w := newMemoryEvents()

	summary, err := ImportCSV(context.Background(), strings.NewReader(input), opts, w)
	if err != nil {
		t.Fatal(err)
	}

	if summary.Imported != 4 || summary.Skipped != 3 {
		t.Errorf("summary = %+v, want 4 imported and 3 skipped", summary)
	}
	wantReasons := map[int]string{
		5: `column "Rating": score 11 is outside the range 0 to 10`,
		6: `column "Rating": score -1 is outside the range 0 to 10`,
		7: `column "Rating": "great" is not a number (want a score from 0 to 10)`,
	}
	if len(summary.BadRows) != len(wantReasons) {
		t.Errorf("bad rows = %+v, want %d", summary.BadRows, len(wantReasons))
	}
	for _, row := range summary.BadRows {
		if row.Reason != wantReasons[row.Line] {
			t.Errorf("line %d reason = %q, want %q", row.Line, row.Reason, wantReasons[row.Line])
		}
	}

	scores := map[string]any{}
	for _, ev := range w.events {
		scores[ev.DistinctID] = ev.Properties["score"]
	}
	for user, want := range map[string]any{"a": 0.0, "b": 10.0, "c": 8.5, "g": nil} {
		if scores[user] != want {
			t.Errorf("user %s score = %v (%T), want %v", user, scores[user], scores[user], want)
		}
	}
}
