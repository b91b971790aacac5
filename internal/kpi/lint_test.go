package kpi

import (
	"strings"
	"testing"
	"time"
)

// lintHeader is lines 1 to 6 of every file below; the first KPI starts on line 7.
const lintHeader = `workspace:
  time_zone: America/New_York
objectives:
  - id: grow
    name: Grow sales
kpis:
`

// revenueKPI is a KPI with nothing to warn about, on lines 7 to 13.
const revenueKPI = `  - id: revenue
    name: Revenue
    objective: grow
    owner: finance@example.com
    unit: USD
    metric: {kind: sum, event: order, property: total}
    target: {value: 1000, by: 2026-12-31}
`

// customersKPI is a second clean KPI, on lines 14 to 20 after revenueKPI.
const customersKPI = `  - id: active_customers
    name: Active customers
    objective: grow
    owner: growth@example.com
    unit: customers
    metric: {kind: unique_users, event: order}
    target: {value: 300, by: 2026-12-31}
`

// formulaKPI returns a clean formula KPI on seven lines; its formula is on
// the sixth line and its unit on the fifth.
func formulaKPI(id, unit, formula string) string {
	return "  - id: " + id + `
    name: Derived value
    objective: grow
    owner: finance@example.com
    unit: "` + unit + `"
    metric: {kind: formula, formula: "` + formula + `"}
    target: {value: 10, by: 2026-12-31}
`
}

// lintNow is 22:00 on 2026-02-28 in New York, already 2026-03-01 in UTC.
var lintNow = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

const mixMessage = ", and values in different units cannot be added or subtracted; fix the formula, or the unit of the KPI that is wrong"

func TestLint(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		maxKPIs int
		want    []Finding // File is always kpis.yaml; Message must match exactly unless partial is set
		partial bool      // Message is a substring of the finding's message
	}{
		{
			name: "clean file",
			yaml: lintHeader + revenueKPI + customersKPI,
		},
		{
			name: "formula that does not compile",
			yaml: lintHeader + revenueKPI + formulaKPI("aov", "USD", "revnue / orders"),
			want: []Finding{{Severity: SeverityError, Line: 19, KPI: "aov", Field: "metric.formula",
				Message: `"revnue / orders" does not compile: unknown name revnue`}},
			partial: true,
		},
		{
			name: "unknown field",
			yaml: lintHeader + strings.Replace(revenueKPI, "    owner:", "    ownr:", 1),
			want: []Finding{{Severity: SeverityError, Line: 10, KPI: "revenue",
				Message: `unknown field "ownr"`}},
			partial: true,
		},
		{
			name: "no target",
			yaml: lintHeader + strings.Replace(revenueKPI, "    target: {value: 1000, by: 2026-12-31}\n", "", 1),
			want: []Finding{{Severity: SeverityWarning, Line: 7, KPI: "revenue", Field: "target",
				Message: "missing: without a target the KPI is never on or off track; add target: with value: (or change: and a baseline) and by: YYYY-MM-DD"}},
		},
		{
			name: "target date in the past",
			yaml: lintHeader + strings.Replace(revenueKPI, "2026-12-31", "2026-02-27", 1),
			want: []Finding{{Severity: SeverityWarning, Line: 13, KPI: "revenue", Field: "target.by",
				Message: "2026-02-27 is in the past (today is 2026-02-28 in America/New_York); set the next target with a later date, or retire the KPI"}},
		},
		{
			// A revision in the file moves the deadline, so the first
			// target's past date is no longer a problem, but the revision's is.
			name: "revised target date in the past",
			yaml: lintHeader + strings.Replace(revenueKPI, "2026-12-31", "2026-01-31", 1) +
				"    targets:\n      - {value: 900, by: 2026-02-27, applies_from: 2026-01-15, reason: slower season}\n",
			want: []Finding{{Severity: SeverityWarning, Line: 15, KPI: "revenue", Field: "targets[0].by",
				Message: "2026-02-27 is in the past (today is 2026-02-28 in America/New_York); set the next target with a later date, or retire the KPI"}},
		},
		{
			name: "revised target date ahead",
			yaml: lintHeader + strings.Replace(revenueKPI, "2026-12-31", "2026-01-31", 1) +
				"    targets:\n      - {value: 900, by: 2026-06-30, applies_from: 2026-01-15, reason: slower season}\n",
		},
		{
			// The date is already over in UTC, but not in the workspace's zone.
			name: "target date today",
			yaml: lintHeader + strings.Replace(revenueKPI, "2026-12-31", "2026-02-28", 1),
		},
		{
			name: "no owner",
			yaml: lintHeader + strings.Replace(revenueKPI, "    owner: finance@example.com\n", "", 1),
			want: []Finding{{Severity: SeverityWarning, Line: 7, KPI: "revenue", Field: "owner",
				Message: "missing: name the person or team accountable for this KPI, such as growth@example.com"}},
		},
		{
			name: "no objective",
			yaml: lintHeader + strings.Replace(revenueKPI, "    objective: grow\n", "", 1),
			want: []Finding{{Severity: SeverityWarning, Line: 7, KPI: "revenue", Field: "objective",
				Message: "missing: link the KPI to the business goal it serves, an id from objectives:"}},
		},
		{
			name: "generic one-word name",
			yaml: lintHeader + strings.Replace(revenueKPI, "name: Revenue", "name: Growth", 1),
			want: []Finding{{Severity: SeverityWarning, Line: 8, KPI: "revenue", Field: "name",
				Message: `"Growth" is a generic word that does not say what is measured; name the quantity it measures, such as "Customers who ordered this week"`}},
		},
		{
			name: "name that is the metric kind",
			yaml: lintHeader + strings.Replace(customersKPI, "name: Active customers", "name: Unique  Users", 1),
			want: []Finding{{Severity: SeverityWarning, Line: 8, KPI: "active_customers", Field: "name",
				Message: `"Unique  Users" only names the metric kind (unique_users); name the quantity it measures, such as "Customers who ordered this week"`}},
		},
		{
			name: "two-word name with a generic word",
			yaml: lintHeader + strings.Replace(revenueKPI, "name: Revenue", "name: Revenue growth", 1),
		},
		{
			name:    "too many KPIs for one objective",
			yaml:    lintHeader + revenueKPI + customersKPI + formulaKPI("aov", "USD", "revenue / active_customers"),
			maxKPIs: 2,
			want: []Finding{{Severity: SeverityWarning, Line: 4, Field: "objectives[0]",
				Message: `objective "grow" has 3 KPIs (revenue, active_customers, aov), more than 2: teams that track too many KPIs stop acting on any of them. ` +
					"Keep the few that show whether the objective is met, and move the others under metrics:, where formulas can still use them"}},
		},
		{
			name:    "KPIs at the limit",
			yaml:    lintHeader + revenueKPI + customersKPI + formulaKPI("aov", "USD", "revenue / active_customers"),
			maxKPIs: 3,
		},
		{
			name: "sum of two units",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("mixed", "USD", "revenue + active_customers"),
			want: []Finding{{Severity: SeverityError, Line: 26, KPI: "mixed", Field: "metric.formula",
				Message: `"revenue + active_customers" adds USD (revenue) to customers (active_customers)` + mixMessage}},
		},
		{
			name: "difference of two units",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("mixed", "USD", "revenue - active_customers * 2"),
			want: []Finding{{Severity: SeverityError, Line: 26, KPI: "mixed", Field: "metric.formula",
				Message: `"revenue - active_customers * 2" subtracts customers (active_customers * 2) from USD (revenue)` + mixMessage}},
		},
		{
			name: "mismatch inside a function",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("mixed", "USD", "max(revenue + active_customers, 0)"),
			want: []Finding{{Severity: SeverityError, Line: 26, KPI: "mixed", Field: "metric.formula",
				Message: `"revenue + active_customers" adds USD (revenue) to customers (active_customers)` + mixMessage}},
		},
		{
			name: "ratio without unit plus a unit",
			yaml: lintHeader + revenueKPI + formulaKPI("odd", "USD", "revenue / revenue + revenue"),
			want: []Finding{{Severity: SeverityError, Line: 19, KPI: "odd", Field: "metric.formula",
				Message: `"revenue / revenue + revenue" adds no unit (revenue / revenue) to USD (revenue)` + mixMessage}},
		},
		{
			name: "mismatch in a named metric",
			yaml: lintHeader + revenueKPI + customersKPI +
				"metrics:\n" + // line 21
				"  mixed: {kind: formula, formula: revenue + active_customers}\n", // line 22
			want: []Finding{{Severity: SeverityError, Line: 22, Field: "metrics.mixed.formula",
				Message: `"revenue + active_customers" adds USD (revenue) to customers (active_customers)` + mixMessage}},
		},
		{
			name: "comparison of two units",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("flag", "", "revenue > active_customers ? 1.0 : 0.0"),
		},
		{
			name: "division by a percentage",
			yaml: lintHeader + revenueKPI + strings.ReplaceAll(strings.ReplaceAll(customersKPI, "active_customers", "churn_rate"), "unit: customers", `unit: "%"`) +
				formulaKPI("ltv", "USD", "revenue / (churn_rate / 100)"),
		},
		{
			name: "division by another unit",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("revenue_per_customer", "USD", "revenue / active_customers"),
		},
		{
			name: "number added to a unit",
			yaml: lintHeader + revenueKPI + formulaKPI("adjusted", "USD", "(revenue - 100) * 2 + 1.5"),
		},
		{
			name: "named metric without unit",
			yaml: lintHeader + revenueKPI + formulaKPI("net", "USD", "revenue - refunds") +
				"metrics:\n  refunds: {kind: sum, event: refund, property: amount}\n",
		},
		{
			name: "units compared ignoring case",
			yaml: lintHeader + revenueKPI + strings.ReplaceAll(strings.ReplaceAll(revenueKPI, "revenue", "fees"), "USD", "usd") +
				formulaKPI("income", "Usd", "revenue + fees"),
		},
		{
			name: "percent spelled out",
			yaml: lintHeader + strings.ReplaceAll(strings.ReplaceAll(revenueKPI, "revenue", "churn_rate"), "USD", "percent") +
				formulaKPI("churn_points", "%", "churn_rate - 5"),
		},
		{
			name: "declared unit the formula contradicts",
			yaml: lintHeader + revenueKPI + formulaKPI("doubled", "orders", "revenue + revenue"),
			want: []Finding{{Severity: SeverityWarning, Line: 18, KPI: "doubled", Field: "unit",
				Message: `"orders" does not match the formula "revenue + revenue", which gives USD; set unit: USD, or fix the formula`}},
		},
		{
			name: "units that cancel out",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("same", "customers", "revenue * active_customers / revenue"),
		},
		{
			name: "declared unit with a compound formula",
			yaml: lintHeader + revenueKPI + customersKPI + formulaKPI("revenue_per_customer", "orders", "revenue / active_customers"),
		},
		{
			name: "findings ordered by line",
			yaml: lintHeader + strings.Replace(revenueKPI, "2026-12-31", "2026-01-31", 1) +
				strings.Replace(customersKPI, "    owner: growth@example.com\n", "", 1),
			want: []Finding{
				{Severity: SeverityWarning, Line: 13, KPI: "revenue", Field: "target.by",
					Message: "2026-01-31 is in the past (today is 2026-02-28 in America/New_York); set the next target with a later date, or retire the KPI"},
				{Severity: SeverityWarning, Line: 14, KPI: "active_customers", Field: "owner",
					Message: "missing: name the person or team accountable for this KPI, such as growth@example.com"},
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Lint("kpis.yaml", []byte(tt.yaml), LintOptions{Now: lintNow, MaxKPIsPerObjective: tt.maxKPIs})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tt.want), findingLines(got))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Severity != w.Severity {
					t.Errorf("finding %d: severity = %s, want %s", i, g.Severity, w.Severity)
				}
				if g.File != "kpis.yaml" {
					t.Errorf("finding %d: file = %q, want kpis.yaml", i, g.File)
				}
				if g.Line != w.Line {
					t.Errorf("finding %d: line = %d, want %d", i, g.Line, w.Line)
				}
				if g.KPI != w.KPI {
					t.Errorf("finding %d: kpi = %q, want %q", i, g.KPI, w.KPI)
				}
				if g.Field != w.Field {
					t.Errorf("finding %d: field = %q, want %q", i, g.Field, w.Field)
				}
				if tt.partial && !strings.Contains(g.Message, w.Message) {
					t.Errorf("finding %d: message = %q, want it to contain %q", i, g.Message, w.Message)
				}
				if !tt.partial && g.Message != w.Message {
					t.Errorf("finding %d: message =\n%q\nwant\n%q", i, g.Message, w.Message)
				}
			}
		})
	}
}

func findingLines(findings []Finding) string {
	var sb strings.Builder
	for _, f := range findings {
		sb.WriteString(string(f.Severity) + ": " + f.String() + "\n")
	}
	return sb.String()
}

func TestLintDefaultMaxKPIs(t *testing.T) {
	// Eight KPIs of one objective are one more than the default of 7.
	var sb strings.Builder
	sb.WriteString(lintHeader)
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"} {
		sb.WriteString(strings.ReplaceAll(revenueKPI, "id: revenue", "id: "+id))
	}

	got := Lint("kpis.yaml", []byte(sb.String()), LintOptions{Now: lintNow})
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1:\n%s", len(got), findingLines(got))
	}
	if !strings.HasPrefix(got[0].Message, `objective "grow" has 8 KPIs (a1, a2, a3, a4, a5, a6, a7, a8), more than 7:`) {
		t.Errorf("message = %q, want it to count 8 KPIs against the limit of 7", got[0].Message)
	}
}

func TestLintLoadErrorsOnly(t *testing.T) {
	// A file that does not load gets no warnings, even though this KPI also
	// has no owner and no target.
	yaml := lintHeader + "  - id: revenue\n    name: Growth\n    metric: {kind: counts, event: order}\n"

	got := Lint("kpis.yaml", []byte(yaml), LintOptions{Now: lintNow})
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1:\n%s", len(got), findingLines(got))
	}
	if got[0].Severity != SeverityError {
		t.Errorf("severity = %s, want error", got[0].Severity)
	}
	if got[0].Line != 9 {
		t.Errorf("line = %d, want 9", got[0].Line)
	}
	if got[0].Field != "metric.kind" {
		t.Errorf("field = %q, want metric.kind", got[0].Field)
	}
}

func TestFindingString(t *testing.T) {
	tests := []struct {
		finding Finding
		want    string
	}{
		{Finding{File: "k.yaml", Line: 12, KPI: "mau", Field: "owner", Message: "missing"}, `k.yaml:12: kpi "mau": owner: missing`},
		{Finding{File: "k.yaml", Line: 3, Field: "objectives[0]", Message: "too many"}, "k.yaml:3: objectives[0]: too many"},
		{Finding{File: "k.yaml", Message: "cannot read"}, "k.yaml: cannot read"},
	}
	for _, tt := range tests {
		if got := tt.finding.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestInferUnit(t *testing.T) {
	units := map[string]unit{
		"revenue": namedUnit("USD"),
		"orders":  namedUnit("orders"),
		"users":   namedUnit("users"),
		"days":    namedUnit("days"),
		"churn":   namedUnit("%"),
		"area":    namedUnit("m"),
	}
	tests := []struct {
		formula string
		want    string
	}{
		{"revenue", "USD"},
		{"revenue / orders", "USD/orders"},
		{"revenue * users / orders / days", "USD·users/(days·orders)"},
		{"revenue / (churn / 100)", "USD/%"},
		{"1 / orders", "1/orders"},
		{"area * area", "m^2"},
		{"orders / orders", "no unit"},
		{"-revenue + 3", "USD"},
		{"revenue + unnamed", "unknown unit"},
		{"max(revenue, orders)", "unknown unit"},
	}
	known := map[string]bool{"unnamed": true}
	for name := range units {
		known[name] = true
	}

	for _, tt := range tests {
		t.Run(tt.formula, func(t *testing.T) {
			c, err := CompileFormula(tt.formula, known)
			if err != nil {
				t.Fatalf("CompileFormula: %v", err)
			}
			var mismatches []unitMismatch
			got := inferUnit(c.program.Node(), units, &mismatches)
			if got.String() != tt.want {
				t.Errorf("unit = %q, want %q", got, tt.want)
			}
			if len(mismatches) != 0 {
				t.Errorf("got %d mismatches, want none", len(mismatches))
			}
		})
	}
}
