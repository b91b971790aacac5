package engine

import (
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

const npsKPIs = `workspace:
  name: Survey
  time_zone: America/New_York
  week_start: monday
kpis:
  - id: nps
    name: Net Promoter Score
    metric: {kind: nps, event: survey, property: score}
  - id: nps_web
    name: Net Promoter Score on the web
    metric: {kind: nps, event: survey, property: score, where: {channel: web}}
`

func TestNPSCountsAndScore(t *testing.T) {
	score := func(v any) map[string]any { return map[string]any{"score": v, "channel": "web"} }
	events := []activityEvent{
		// January: promoters 10, 9; passives 8, 7, 8.5; detractors 6, 0, 6.5,
		// and the 3 at the end, which is January in New York.
		{"u1", "survey", "2026-01-05 10:00", score(10)},
		{"u2", "survey", "2026-01-06 10:00", score(9)},
		{"u3", "survey", "2026-01-07 10:00", score(8)},
		{"u4", "survey", "2026-01-08 10:00", score(7)},
		{"u5", "survey", "2026-01-09 10:00", score(8.5)},
		{"u6", "survey", "2026-01-10 10:00", score(6)},
		{"u7", "survey", "2026-01-11 10:00", score(0)},
		{"u8", "survey", "2026-01-12 10:00", score(6.5)},
		// Skipped with a warning: out of range, or not a number.
		{"u9", "survey", "2026-01-13 10:00", score(11)},
		{"u10", "survey", "2026-01-14 10:00", score(-1)},
		{"u11", "survey", "2026-01-15 10:00", score("great")},
		// Left out quietly: no score, or another event.
		{"u12", "survey", "2026-01-16 10:00", map[string]any{"comment": "no score given"}},
		{"u13", "signup", "2026-01-16 11:00", score(10)},
		// February: one promoter, by app. The answer at 23:30 on Jan 31 in
		// New York is February in UTC.
		{"u1", "survey", "2026-02-02 10:00", map[string]any{"score": 10, "channel": "app"}},
		{"u2", "survey", "2026-01-31 23:30", score(3)},
	}
	e, defs, _ := openActivityEngine(t, npsKPIs, farFuture, events)

	s := series(t, e, defs, "nps", timegrain.Month, "2026-01-01", "2026-03-31")

	// January: 2 promoters, 3 passives, 4 detractors of 9 responses.
	checkValues(t, s, []want{
		{"2026-01-01 00:00", v(2.0/9*100 - 4.0/9*100)},
		{"2026-02-01 00:00", v(100)},
		{"2026-03-01 00:00", nil},
	})
	jan := s.Points[0]
	for name, want := range map[string]float64{"promoters": 2, "passives": 3, "detractors": 4, "responses": 9} {
		checkFloat(t, "January "+name, detail(jan, name), &want)
	}
	checkFloat(t, "March responses", detail(s.Points[2], "responses"), v(0))
	if got := s.Points[2].NoValueReason; got != "no responses with a score in the period" {
		t.Errorf("March NoValueReason = %q", got)
	}

	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `skipped 3 "survey" events whose "score" is not a number from 0 to 10`) {
		t.Errorf("warnings = %q, want one about 3 skipped scores", s.Warnings)
	}

	// NPS moves in points: from -22.2 in January to 100 in February is
	// +122.2 points, not a relative change of -550 %.
	if s.ChangeUnit != "pp" {
		t.Errorf("change unit = %q, want pp", s.ChangeUnit)
	}
	checkFloat(t, "February change", s.Points[1].Change, v(100-(2.0/9*100-4.0/9*100)))

	web := series(t, e, defs, "nps_web", timegrain.Month, "2026-02-01", "2026-02-28")
	checkValues(t, web, []want{{"2026-02-01 00:00", nil}})
}

func TestNPSWeekDetails(t *testing.T) {
	score := func(v int) map[string]any { return map[string]any{"score": v} }
	events := []activityEvent{
		{"a", "survey", "2026-01-05 09:00", score(9)},
		{"b", "survey", "2026-01-11 23:59", score(2)},
		{"c", "survey", "2026-01-12 00:01", score(7)},
		{"a", "survey", "2026-01-13 09:00", score(10)},
	}
	e, defs, _ := openActivityEngine(t, npsKPIs, farFuture, events)

	s := series(t, e, defs, "nps", timegrain.Week, "2026-01-05", "2026-01-18")

	checkValues(t, s, []want{
		{"2026-01-05 00:00", v(0)},  // 1 promoter, 1 detractor
		{"2026-01-12 00:00", v(50)}, // 1 promoter, 1 passive
	})
	checkFloat(t, "second week passives", detail(s.Points[1], "passives"), v(1))
	checkFloat(t, "second week change", s.Points[1].Change, v(50)) // from 0 to 50 is +50 points
}
