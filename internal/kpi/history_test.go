package kpi

import (
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func TestParseTargetHistory(t *testing.T) {
	yaml := kpiWith(
		"metric: {kind: count, event: signup}",
		"baseline: {value: 100, date: 2026-12-31}",
		"target:",
		"  value: 130",
		"  by: 2027-03-31",
		"  milestones:",
		"    - {by: 2027-01-31, value: 110}",
		"targets:",
		"  - change: +90%",
		"    by: 2027-06-30",
		"    applies_from: 2027-02-15",
		"    author: ana@example.com",
		"    reason: The campaign doubled signups",
		"benchmarks:",
		"  - {kind: industry, name: SaaS median, value: 120}",
		"  - {kind: last_year}",
		"  - {kind: baseline}",
		"review: monthly",
	)
	defs, err := Parse("good.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	k := defs.KPIs[0]

	if len(k.Target.Milestones) != 1 || k.Target.Milestones[0].By.String() != "2027-01-31" || k.Target.Milestones[0].Value != 110 {
		t.Errorf("milestones = %+v, want 110 by 2027-01-31", k.Target.Milestones)
	}
	if len(k.Targets) != 1 {
		t.Fatalf("targets = %+v, want one revision", k.Targets)
	}
	r := k.Targets[0]
	if r.Target.Change == nil || *r.Target.Change != 0.9 {
		t.Errorf("revision change = %v, want 0.9", r.Target.Change)
	}
	if r.AppliesFrom.String() != "2027-02-15" || r.Author != "ana@example.com" || r.Reason != "The campaign doubled signups" || r.Source != SourceFile {
		t.Errorf("revision = %+v", r)
	}
	wantBenchmarks := []Benchmark{{IndustryBenchmark, "SaaS median", 120}, {LastYearBenchmark, "last year", 0}, {BaselineBenchmark, "baseline", 0}}
	if len(k.Benchmarks) != len(wantBenchmarks) {
		t.Fatalf("benchmarks = %+v, want %+v", k.Benchmarks, wantBenchmarks)
	}
	for i, want := range wantBenchmarks {
		if k.Benchmarks[i] != want {
			t.Errorf("benchmark %d = %+v, want %+v", i, k.Benchmarks[i], want)
		}
	}
	if k.Review != Monthly {
		t.Errorf("review = %q, want monthly", k.Review)
	}
}

func TestParseTargetHistoryErrors(t *testing.T) {
	base := []string{"metric: {kind: count, event: signup}", "baseline: {value: 100, date: 2026-12-31}"}
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{
			name:  "revisions without a target",
			lines: []string{"targets:", "  - {value: 1, by: 2027-03-31, applies_from: 2027-02-01, reason: x}"},
			want:  []string{"bad.yaml:6:", `kpi "signups"`, "targets: revisions need a first target"},
		},
		{
			name:  "applies_from not a date",
			lines: []string{"target: {value: 1, by: 2027-03-31}", "targets:", "  - value: 2", "    by: 2027-03-31", "    applies_from: next week", "    reason: x"},
			want:  []string{"bad.yaml:10:", "targets[0].applies_from", `"next week" is not a date`},
		},
		{
			name:  "revision without a reason",
			lines: []string{"target: {value: 1, by: 2027-03-31}", "targets:", "  - {value: 2, by: 2027-03-31, applies_from: 2027-02-01}"},
			want:  []string{"bad.yaml:8:", "targets[0].reason: missing"},
		},
		{
			name:  "revisions out of order",
			lines: []string{"target: {value: 1, by: 2027-03-31}", "targets:", "  - {value: 2, by: 2027-03-31, applies_from: 2027-02-01, reason: x}", "  - {value: 3, by: 2027-03-31, applies_from: 2027-01-01, reason: y}"},
			want:  []string{"bad.yaml:9:", "targets[1].applies_from", "is before the revision above it"},
		},
		{
			name:  "milestone after the target",
			lines: []string{"target:", "  value: 1", "  by: 2027-03-31", "  milestones:", "    - {by: 2027-04-30, value: 2}"},
			want:  []string{"bad.yaml:10:", "target.milestones[0].by", "2027-04-30 is not before the target date 2027-03-31"},
		},
		{
			name:  "milestone without a value",
			lines: []string{"target:", "  value: 1", "  by: 2027-03-31", "  milestones:", "    - by: 2027-01-31"},
			want:  []string{"bad.yaml:10:", "target.milestones[0].value: missing"},
		},
		{
			name:  "unknown benchmark kind",
			lines: []string{"benchmarks:", "  - {kind: competitor, value: 3}"},
			want:  []string{"bad.yaml:7:", "benchmarks[0].kind", `"competitor" is not valid`},
		},
		{
			name:  "industry benchmark without a value",
			lines: []string{"benchmarks:", "  - kind: industry"},
			want:  []string{"bad.yaml:7:", "benchmarks[0].value: missing"},
		},
		{
			name:  "unknown review cadence",
			lines: []string{"review: yearly"},
			want:  []string{"bad.yaml:6:", "review", `"yearly" is not valid (want weekly, monthly or quarterly)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(kpiWith(append(append([]string{}, base...), tt.lines...)...)))
			if err == nil {
				t.Fatal("Parse returned no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func date(t *testing.T, s string) timegrain.Date {
	t.Helper()
	d, err := timegrain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReviewStateOn(t *testing.T) {
	reviewed := History{Reviews: []Review{
		{ID: 1, Date: date(t, "2027-01-10"), Decision: Keep},
		{ID: 2, Date: date(t, "2027-01-31"), Decision: AdjustTarget},
	}}
	tests := []struct {
		name    string
		cadence Cadence
		h       History
		today   string
		due     bool
		next    string // "" for none
	}{
		{"no cadence", NoCadence, reviewed, "2027-06-01", false, ""},
		{"never reviewed", Weekly, History{}, "2027-01-05", true, "2027-01-05"},
		{"weekly not yet due", Weekly, reviewed, "2027-02-06", false, "2027-02-07"},
		{"weekly due on the day", Weekly, reviewed, "2027-02-07", true, "2027-02-07"},
		{"monthly from the 31st", Monthly, reviewed, "2027-02-27", false, "2027-02-28"}, // February has no 31st
		{"monthly due", Monthly, reviewed, "2027-03-02", true, "2027-02-28"},
		{"quarterly not yet due", Quarterly, reviewed, "2027-04-29", false, "2027-04-30"},
		{"retired", Monthly, History{Reviews: []Review{{ID: 1, Date: date(t, "2027-01-10"), Decision: Retire}}}, "2028-01-01", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ReviewStateOn(tt.cadence, tt.h, date(t, tt.today))
			if st.Due != tt.due {
				t.Errorf("due = %v, want %v", st.Due, tt.due)
			}
			got := ""
			if st.NextDue != nil {
				got = st.NextDue.String()
			}
			if got != tt.next {
				t.Errorf("next due = %q, want %q", got, tt.next)
			}
		})
	}
}

func TestTargetOn(t *testing.T) {
	k := &KPI{ID: "k", Target: &Target{Value: ptrTo(1.0)}}
	h := History{Revisions: []TargetRevision{
		{ID: 1, AppliesFrom: date(t, "2027-02-15"), Target: Target{Value: ptrTo(2.0)}},
		{ID: 2, AppliesFrom: date(t, "2027-02-15"), Target: Target{Value: ptrTo(3.0)}},
		{ID: 3, AppliesFrom: date(t, "2027-01-01"), Target: Target{Value: ptrTo(4.0)}},
	}}
	revs := TargetRevisions(k, h)
	tests := []struct {
		at   time.Time
		want float64
	}{
		{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 1}, // applies after the start of 1 January, not at it
		{time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC), 4},
		{time.Date(2027, 2, 16, 0, 0, 0, 0, time.UTC), 3}, // the later of two revisions on one date wins
	}
	for _, tt := range tests {
		i := TargetOn(revs, tt.at, time.UTC)
		if i < 0 || *revs[i].Target.Value != tt.want {
			t.Errorf("TargetOn(%s) = revision %d, want the target %g", tt.at, i, tt.want)
		}
	}

	// In force now: from the first instant of the day, in the zone's time.
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	inForce := []struct {
		at   time.Time
		loc  *time.Location
		want float64
	}{
		{time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), time.UTC, 1},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, 4}, // at the start of 1 January
		{time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC), time.UTC, 3},
		// Midnight of 1 January in Kolkata is 18:30 UTC on 31 December.
		{time.Date(2026, 12, 31, 18, 29, 59, 0, time.UTC), kolkata, 1},
		{time.Date(2026, 12, 31, 18, 30, 0, 0, time.UTC), kolkata, 4},
	}
	for _, tt := range inForce {
		i := TargetInForce(revs, tt.at, tt.loc)
		if i < 0 || *revs[i].Target.Value != tt.want {
			t.Errorf("TargetInForce(%s in %s) = revision %d, want the target %g", tt.at, tt.loc, i, tt.want)
		}
	}
}

func ptrTo(f float64) *float64 { return &f }

func TestKPIInputKeepsReviewAndRevisions(t *testing.T) {
	in, err := DecodeKPIInput([]byte(`{"id": "signups", "name": "Signups", "metric": {"kind": "count", "event": "signup"},
		"review": "weekly", "benchmarks": [{"kind": "industry", "value": 3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := EncodeKPIInput(in)
	if err != nil {
		t.Fatal(err)
	}
	out := string(data)
	for _, want := range []string{`"review": "weekly"`, `"benchmarks"`} {
		if !strings.Contains(out, want) {
			t.Errorf("encoded input %s lacks %s", out, want)
		}
	}
	if strings.Contains(out, `"targets"`) || strings.Contains(out, `"milestones"`) {
		t.Errorf("encoded input %s has empty targets or milestones", out)
	}
}
