package kpi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func TestLoadFileRelayFoods(t *testing.T) {
	defs, err := LoadFile("../../examples/relay-foods/kpis.yaml")
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}

	if defs.Workspace.Location == nil || defs.Workspace.Location.String() != "America/New_York" {
		t.Errorf("workspace time zone = %v, want America/New_York", defs.Workspace.Location)
	}
	if defs.Workspace.WeekStart != time.Monday {
		t.Errorf("week start = %v, want Monday", defs.Workspace.WeekStart)
	}
	if len(defs.Objectives) != 1 || defs.Objectives[0].ID != "grow_sales" {
		t.Errorf("objectives = %+v, want one with id grow_sales", defs.Objectives)
	}

	wantKinds := map[string]MetricKind{
		"active_customers": UniqueUsers,
		"orders":           Count,
		"revenue":          Sum,
		"aov":              Formula,
	}
	if len(defs.KPIs) != len(wantKinds) {
		t.Fatalf("got %d KPIs, want %d", len(defs.KPIs), len(wantKinds))
	}
	for id, kind := range wantKinds {
		k, err := defs.KPI(id)
		if err != nil {
			t.Errorf("KPI(%q): %v", id, err)
			continue
		}
		if k.Metric.Kind != kind {
			t.Errorf("kpi %s: kind = %s, want %s", id, k.Metric.Kind, kind)
		}
		if k.Grain != timegrain.Month {
			t.Errorf("kpi %s: grain = %s, want month", id, k.Grain)
		}
	}

	revenue, _ := defs.KPI("revenue")
	if revenue.Metric.Property != "revenue" {
		t.Errorf("revenue property = %q, want revenue", revenue.Metric.Property)
	}
	if revenue.Thresholds != (Thresholds{AtRisk: 0.05, OffTrack: 0.15}) {
		t.Errorf("revenue thresholds = %+v, want 5%% and 15%%", revenue.Thresholds)
	}

	aov, _ := defs.KPI("aov")
	if aov.Metric.Compiled == nil {
		t.Fatal("aov formula is not compiled")
	}
	if got := strings.Join(aov.Metric.Compiled.Names(), ","); got != "orders,revenue" {
		t.Errorf("aov formula names = %s, want orders,revenue", got)
	}
}

const goodFile = `workspace:
  name: Shop
  time_zone: Asia/Kolkata
  week_start: sunday
objectives:
  - id: grow
    name: Grow
metrics:
  big_orders:
    kind: count
    event: order
    where:
      items: {gte: 10}
kpis:
  - id: us_revenue
    name: US revenue
    objective: grow
    unit: USD
    direction: up
    grain: week
    metric:
      kind: sum
      event: order
      property: revenue
      where:
        country: US
        plan: [pro, team]
        items: {gte: 10}
        channel: {neq: x}
        paid: true
        store_id: 7
    baseline: {value: 1000, date: 2026-01-01}
    target: {change: "+20%", by: 2026-06-30}
    thresholds: {at_risk: 10%, off_track: 0.25}
  - id: churned
    name: Churned users
    direction: down
    grain: day
    metric: {kind: unique_users, event: cancel}
    target: {value: 5, by: 2026-12-31}
  - id: big_order_share
    name: Share of big orders
    unit: "%"
    metric:
      kind: formula
      formula: big_orders / us_revenue * 100
`

func TestParseGoodFile(t *testing.T) {
	defs, err := Parse("shop.yaml", []byte(goodFile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	if defs.Path != "shop.yaml" {
		t.Errorf("Path = %q, want shop.yaml", defs.Path)
	}
	if got := defs.Workspace.Location.String(); got != "Asia/Kolkata" {
		t.Errorf("time zone = %s, want Asia/Kolkata", got)
	}
	if defs.Workspace.WeekStart != time.Sunday {
		t.Errorf("week start = %v, want Sunday", defs.Workspace.WeekStart)
	}
	if _, ok := defs.Metrics["big_orders"]; !ok {
		t.Error("named metric big_orders is missing")
	}

	k, err := defs.KPI("us_revenue")
	if err != nil {
		t.Fatalf("KPI(us_revenue): %v", err)
	}
	if k.Grain != timegrain.Week {
		t.Errorf("grain = %s, want week", k.Grain)
	}
	if k.Direction != Up {
		t.Errorf("direction = %s, want up", k.Direction)
	}
	if k.Objective != "grow" {
		t.Errorf("objective = %q, want grow", k.Objective)
	}
	if k.Unit != "USD" {
		t.Errorf("unit = %q, want USD", k.Unit)
	}

	if k.Baseline == nil || k.Target == nil {
		t.Fatalf("baseline %+v, target %+v; want both", k.Baseline, k.Target)
	}
	if k.Baseline.Value == nil || *k.Baseline.Value != 1000 {
		t.Errorf("baseline.value = %v, want 1000", k.Baseline.Value)
	}
	if k.Baseline.Date != (timegrain.Date{Year: 2026, Month: 1, Day: 1}) {
		t.Errorf("baseline.date = %v, want 2026-01-01", k.Baseline.Date)
	}
	if k.Target.Change == nil || *k.Target.Change != 0.2 {
		t.Errorf("target.change = %v, want 0.2", k.Target.Change)
	}
	if k.Target.Value != nil {
		t.Errorf("target.value = %v, want none", *k.Target.Value)
	}
	if k.Target.By != (timegrain.Date{Year: 2026, Month: 6, Day: 30}) {
		t.Errorf("target.by = %v, want 2026-06-30", k.Target.By)
	}
	if k.Thresholds != (Thresholds{AtRisk: 0.10, OffTrack: 0.25}) {
		t.Errorf("thresholds = %+v, want 0.10 and 0.25", k.Thresholds)
	}

	churned, _ := defs.KPI("churned")
	if churned.Direction != Down {
		t.Errorf("churned direction = %s, want down", churned.Direction)
	}
	if churned.Grain != timegrain.Day {
		t.Errorf("churned grain = %s, want day", churned.Grain)
	}
	if churned.Metric.Kind != UniqueUsers {
		t.Errorf("churned kind = %s, want unique_users", churned.Metric.Kind)
	}
	if churned.Target == nil || churned.Target.Value == nil || *churned.Target.Value != 5 {
		t.Errorf("churned target = %+v, want value 5", churned.Target)
	}
	if churned.Baseline != nil {
		t.Errorf("churned baseline = %+v, want none", churned.Baseline)
	}
	if churned.Thresholds != DefaultThresholds {
		t.Errorf("churned thresholds = %+v, want the defaults", churned.Thresholds)
	}

	share, _ := defs.KPI("big_order_share")
	if share.Grain != timegrain.Month {
		t.Errorf("default grain = %s, want month", share.Grain)
	}
	if share.Direction != Up {
		t.Errorf("default direction = %s, want up", share.Direction)
	}
	if share.Metric.Compiled == nil || strings.Join(share.Metric.Compiled.Names(), ",") != "big_orders,us_revenue" {
		t.Errorf("formula of big_order_share is not compiled over big_orders and us_revenue")
	}
	if !share.IsPercentage() {
		t.Error(`unit "%" is not a percentage`)
	}
}

func TestParseFilters(t *testing.T) {
	defs, err := Parse("shop.yaml", []byte(goodFile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	k, _ := defs.KPI("us_revenue")

	want := map[string]Filter{
		"country":  {Property: "country", Op: OpEq, Value: "US"},
		"plan":     {Property: "plan", Op: OpIn, Values: []any{"pro", "team"}},
		"items":    {Property: "items", Op: OpGte, Value: 10.0},
		"channel":  {Property: "channel", Op: OpNeq, Value: "x"},
		"paid":     {Property: "paid", Op: OpEq, Value: true},
		"store_id": {Property: "store_id", Op: OpEq, Value: 7.0},
	}
	if len(k.Metric.Filters) != len(want) {
		t.Fatalf("got %d filters, want %d: %+v", len(k.Metric.Filters), len(want), k.Metric.Filters)
	}
	for _, f := range k.Metric.Filters {
		w, ok := want[f.Property]
		if !ok {
			t.Errorf("unexpected filter %+v", f)
			continue
		}
		if f.Op != w.Op {
			t.Errorf("%s: op = %s, want %s", f.Property, f.Op, w.Op)
		}
		if f.Value != w.Value {
			t.Errorf("%s: value = %#v, want %#v", f.Property, f.Value, w.Value)
		}
		if len(f.Values) != len(w.Values) {
			t.Errorf("%s: values = %#v, want %#v", f.Property, f.Values, w.Values)
			continue
		}
		for i := range w.Values {
			if f.Values[i] != w.Values[i] {
				t.Errorf("%s: values[%d] = %#v, want %#v", f.Property, i, f.Values[i], w.Values[i])
			}
		}
	}
}

// kpiWith returns a one-KPI file whose entry ends with the given lines,
// indented under the KPI. Line 1 is "kpis:", line 2 "- id: signups",
// line 3 "name: Signups", so the first extra line is line 4.
func kpiWith(lines ...string) string {
	var sb strings.Builder
	sb.WriteString("kpis:\n  - id: signups\n    name: Signups\n")
	for _, l := range lines {
		sb.WriteString("    " + l + "\n")
	}
	return sb.String()
}

func TestParseBadFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error message
	}{
		{
			// The parser reports the line where it notices that the flow
			// mapping on line 4 is not closed.
			name: "malformed yaml",
			yaml: kpiWith("metric: {kind: count, event: signup", "unit: users"),
			want: []string{"bad.yaml:5:", "'}' must be specified"},
		},
		{
			// The deeper line continues the scalar "count" that starts on line 5.
			name: "bad indentation",
			yaml: kpiWith("metric:", "  kind: count", "   event: signup"),
			want: []string{"bad.yaml:5:", "mapping value is not allowed"},
		},
		{
			name: "unknown field in metric",
			yaml: kpiWith("metric:", "  kind: count", "  evnt: signup"),
			want: []string{"bad.yaml:6:", `kpi "signups"`, `unknown field "evnt"`},
		},
		{
			name: "unknown field in kpi",
			yaml: kpiWith("ownr: growth@example.com", "metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, `unknown field "ownr"`},
		},
		{
			name: "window is not a number",
			yaml: kpiWith("metric:", "  kind: funnel", "  steps: [a, b]", "  window: 30d"),
			want: []string{"bad.yaml:7:", `kpi "signups"`, `metric.window: found the text "30d", expected a whole number of days, e.g. 30`},
		},
		{
			name: "owner is a list",
			yaml: kpiWith("owner: [a, b]", "metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "owner: found a list, expected text"},
		},
		{
			name: "name too long",
			yaml: "kpis:\n  - id: signups\n    name: " + strings.Repeat("n", 101) + "\n    metric: {kind: count, event: signup}\n",
			want: []string{"bad.yaml:3:", `kpi "signups"`, "name", "is 101 characters long; the limit is 100"},
		},
		{
			name: "description too long",
			yaml: kpiWith("description: "+strings.Repeat("d", 2001), "metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "description", "is 2001 characters long; the limit is 2000"},
		},
		{
			name: "unknown field at top level",
			yaml: "kpi:\n  - id: signups\n",
			want: []string{"bad.yaml:1:", `unknown field "kpi"`},
		},
		{
			name: "unknown metric kind",
			yaml: kpiWith("metric:", "  kind: counts", "  event: signup"),
			want: []string{"bad.yaml:5:", `kpi "signups"`, "metric.kind", `"counts" is not a metric kind`, "want one of count, unique_users, sum, average, formula, active_users"},
		},
		{
			name: "missing event flow style",
			yaml: kpiWith("metric: {kind: count}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "metric.event: missing"},
		},
		{
			name: "missing event block style",
			yaml: kpiWith("unit: users", "metric:", "  kind: count", "  property: x"),
			want: []string{"bad.yaml:5:", `kpi "signups"`, "metric.event: missing"},
		},
		{
			name: "missing metric",
			yaml: kpiWith("unit: users"),
			want: []string{"bad.yaml:2:", `kpi "signups"`, "metric: missing"},
		},
		{
			name: "sum without property",
			yaml: kpiWith("metric: {kind: sum, event: order}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "metric.property: missing"},
		},
		{
			name: "bad filter operator",
			yaml: kpiWith("metric:", "  kind: count", "  event: order", "  where:", "    items: {between: 10}"),
			want: []string{"bad.yaml:8:", `kpi "signups"`, "metric.where.items", `"between" is not an operator`},
		},
		{
			name: "formula with unknown name",
			yaml: kpiWith("metric: {kind: count, event: signup}") +
				"  - id: ratio\n    name: Ratio\n    metric:\n      kind: formula\n      formula: signups / visits\n",
			want: []string{"bad.yaml:9:", `kpi "ratio"`, "metric.formula", "unknown name visits", "known names: ratio, signups"},
		},
		{
			name: "formula cycle between kpis",
			yaml: kpiWith("metric: {kind: formula, formula: ratio * 2}") +
				"  - id: ratio\n    name: Ratio\n    metric:\n      kind: formula\n      formula: signups + 1\n",
			want: []string{"bad.yaml:4:", `kpi "signups"`, "metric.formula", "cycle: signups -> ratio -> signups"},
		},
		{
			name: "formula refers to itself",
			yaml: kpiWith("metric:", "  kind: formula", "  formula: signups + 1"),
			want: []string{"bad.yaml:6:", `kpi "signups"`, "metric.formula", "cycle: signups -> signups"},
		},
		{
			name: "formula cycle between metrics",
			yaml: "metrics:\n  a:\n    kind: formula\n    formula: b\n  b:\n    kind: formula\n    formula: a\n" +
				kpiWith("metric: {kind: formula, formula: a}"),
			want: []string{"bad.yaml:4:", "metrics.a.formula", "cycle: a -> b -> a"},
		},
		{
			name: "bad target date",
			yaml: kpiWith("metric: {kind: count, event: signup}", "target:", "  value: 100", "  by: 2027-13-01"),
			want: []string{"bad.yaml:7:", `kpi "signups"`, "target.by", `"2027-13-01" is not a date (want YYYY-MM-DD)`},
		},
		{
			name: "bad baseline date",
			yaml: kpiWith("metric: {kind: count, event: signup}", "baseline: {value: 1, date: 2026-02-30}", "target: {value: 2, by: 2027-01-01}"),
			want: []string{"bad.yaml:5:", `kpi "signups"`, "baseline.date", "want YYYY-MM-DD"},
		},
		{
			name: "target before baseline",
			yaml: kpiWith("metric: {kind: count, event: signup}", "baseline: {value: 1, date: 2026-06-01}", "target:", "  value: 2", "  by: 2026-01-01"),
			want: []string{"bad.yaml:8:", `kpi "signups"`, "target.by", "not after the baseline date 2026-06-01"},
		},
		{
			name: "relative target without baseline",
			yaml: kpiWith("metric: {kind: count, event: signup}", "target:", "  change: +20%", "  by: 2027-01-01"),
			want: []string{"bad.yaml:6:", `kpi "signups"`, "target.change", "needs a baseline"},
		},
		{
			name: "target with value and change",
			yaml: kpiWith("metric: {kind: count, event: signup}", "target: {value: 10, change: 20%, by: 2027-01-01}"),
			want: []string{"bad.yaml:5:", `kpi "signups"`, "target: set value or change, not both"},
		},
		{
			name: "target without value or change",
			yaml: kpiWith("metric: {kind: count, event: signup}", "target: {by: 2027-01-01}"),
			want: []string{"bad.yaml:5:", `kpi "signups"`, "target: missing value or change"},
		},
		{
			name: "threshold order",
			yaml: kpiWith("metric: {kind: count, event: signup}", "thresholds: {at_risk: 20%, off_track: 10%}"),
			want: []string{"bad.yaml:5:", `kpi "signups"`, "thresholds", "at_risk (20%) is larger than off_track (10%)"},
		},
		{
			name: "bad direction",
			yaml: kpiWith("direction: higher", "metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "direction", "want up or down"},
		},
		{
			name: "bad grain",
			yaml: kpiWith("grain: year", "metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "grain", `"year" is not valid`},
		},
		{
			name: "bad time zone",
			yaml: "workspace:\n  time_zone: Mars/Olympus\n" + kpiWith("metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:2:", "workspace.time_zone", `"Mars/Olympus" is not a known time zone`},
		},
		{
			name: "bad week start",
			yaml: "workspace:\n  week_start: funday\n" + kpiWith("metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:2:", "workspace.week_start", `"funday" is not a weekday`},
		},
		{
			name: "duplicate kpi id",
			yaml: kpiWith("metric: {kind: count, event: signup}") +
				"  - id: signups\n    name: Signups again\n    metric: {kind: count, event: signup}\n",
			want: []string{"bad.yaml:5:", `kpi "signups"`, "id", `"signups" is already used`},
		},
		{
			name: "invalid kpi id",
			yaml: "kpis:\n  - id: Sign-ups\n    name: Signups\n    metric: {kind: count, event: signup}\n",
			want: []string{"bad.yaml:2:", `kpi "Sign-ups"`, "id", "not a valid id"},
		},
		{
			name: "unknown objective",
			yaml: kpiWith("objective: grow", "metric: {kind: count, event: signup}"),
			want: []string{"bad.yaml:4:", `kpi "signups"`, "objective", `"grow" is not a defined objective`},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{"bad.yaml", "no KPIs defined"},
		},
		{
			name: "comments only",
			yaml: "# nothing yet\n",
			want: []string{"bad.yaml", "no KPIs defined"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defs, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse returned no error and %d KPIs", len(defs.KPIs))
			}
			if code := ErrorCode(err); code != EINVALID {
				t.Errorf("error code = %q, want %q", code, EINVALID)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	yaml := kpiWith("direction: sideways", "metric: {kind: count}", "target: {value: 1, by: 2027-13-01}")

	_, err := Parse("bad.yaml", []byte(yaml))
	if err == nil {
		t.Fatal("Parse returned no error")
	}

	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(lines), err)
	}
	for _, w := range []string{"bad.yaml:4:", "bad.yaml:5:", "bad.yaml:6:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.yaml")
	_, err := LoadFile(missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("LoadFile(missing) error = %v, want it to name the file and say not found", err)
	}

	path := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(path, []byte(kpiWith("metric: {kind: cnt, event: signup}")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(path)
	if err == nil || !strings.Contains(err.Error(), path+":4:") {
		t.Errorf("LoadFile(bad) error = %v, want it to start with %s:4:", err, path)
	}
}

func TestDefinitionsKPINotFound(t *testing.T) {
	defs, err := Parse("shop.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}

	_, err = defs.KPI("nope")

	if code := ErrorCode(err); code != ENOTFOUND {
		t.Errorf("error code = %q, want %q (error: %v)", code, ENOTFOUND, err)
	}
	if !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %q does not name the KPI", err)
	}
}

func TestParseNameAtLengthLimit(t *testing.T) {
	// 100 two-byte characters: within the limit, which counts characters.
	name := strings.Repeat("é", 100)
	defs, err := Parse("ok.yaml", []byte("kpis:\n  - id: signups\n    name: "+name+"\n    metric: {kind: count, event: signup}\n"))
	if err != nil {
		t.Fatalf("Parse with a 100-character name: %v", err)
	}
	if got := defs.KPIs[0].Name; got != name {
		t.Errorf("name = %q, want the 100 characters given", got)
	}
}
