package kpi

import (
	"strings"
	"testing"
	"time"
)

const inputBaseFile = `
objectives:
  - id: engagement
    name: Grow engagement
metrics:
  orders:
    kind: count
    event: order
kpis:
  - id: revenue
    name: Revenue from orders
    objective: engagement
    owner: sales@example.com
    unit: EUR
    metric: {kind: sum, event: order, property: amount}
    target: {value: 1000, by: 2027-06-30}
`

var inputNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func baseDefinitions(t *testing.T) *Definitions {
	t.Helper()
	defs, err := Parse("kpis.yaml", []byte(inputBaseFile))
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

func decodeInput(t *testing.T, js string) *KPIInput {
	t.Helper()
	in, err := DecodeKPIInput([]byte(js))
	if err != nil {
		t.Fatalf("DecodeKPIInput(%s): %v", js, err)
	}
	return in
}

func TestCheckKPIValid(t *testing.T) {
	defs := baseDefinitions(t)
	in := decodeInput(t, `{"id": "signups", "name": "Weekly signups", "objective": "engagement",
		"owner": "growth@example.com", "unit": "users", "grain": "week",
		"metric": {"kind": "count", "event": "signup"}, "target": {"value": 50, "by": "2027-03-31"}}`)

	k, findings := defs.CheckKPI(in, "", inputNow)
	if len(findings) != 0 {
		t.Fatalf("findings = %v, want none", findings)
	}
	if k.ID != "signups" || k.Grain != "week" || k.Metric.Kind != Count || *k.Target.Value != 50 {
		t.Errorf("KPI = %+v", k)
	}
	if !k.IsManagedByUI() {
		t.Errorf("ManagedBy = %q, want ui", k.ManagedBy)
	}
}

func TestCheckKPIErrorsNameFields(t *testing.T) {
	defs := baseDefinitions(t)
	cases := []struct {
		js, field, text string
	}{
		{`{"id": "revenue", "name": "Again", "metric": {"kind": "count", "event": "x"}}`, "id", `"revenue" is already used`},
		{`{"id": "Bad Id", "name": "X", "metric": {"kind": "count", "event": "x"}}`, "id", "not a valid id"},
		{`{"id": "a", "name": "", "metric": {"kind": "count", "event": "x"}}`, "name", "missing"},
		{`{"id": "a", "name": "A", "objective": "nope", "metric": {"kind": "count", "event": "x"}}`, "objective", `"nope" is not a defined objective`},
		{`{"id": "a", "name": "A", "direction": "sideways", "metric": {"kind": "count", "event": "x"}}`, "direction", "want up or down"},
		{`{"id": "a", "name": "A", "metric": {"kind": "count"}}`, "metric.event", "missing"},
		{`{"id": "a", "name": "A", "metric": {"kind": "median", "event": "x"}}`, "metric.kind", `"median" is not a metric kind`},
		{`{"id": "a", "name": "A", "metric": {"kind": "count", "event": "x"}, "target": {"value": 5, "by": "2027-13-01"}}`, "target.by", "2027-13-01"},
		{`{"id": "a", "name": "A", "metric": {"kind": "formula", "formula": "orders / nothing"}}`, "metric.formula", "nothing"},
	}
	for _, c := range cases {
		_, findings := defs.CheckKPI(decodeInput(t, c.js), "", inputNow)
		if !HasErrors(findings) {
			t.Errorf("%s: no error", c.js)
			continue
		}
		if findings[0].Field != c.field || !strings.Contains(findings[0].Message, c.text) {
			t.Errorf("%s: first finding = %s: %s, want field %s with %q", c.js, findings[0].Field, findings[0].Message, c.field, c.text)
		}
	}
}

func TestCheckKPILintWarnings(t *testing.T) {
	defs := baseDefinitions(t)
	in := decodeInput(t, `{"id": "avg_order", "name": "Revenue per order", "unit": "users",
		"metric": {"kind": "formula", "formula": "revenue * 2"}}`)

	_, findings := defs.CheckKPI(in, "", inputNow)
	fields := map[string]Severity{}
	for _, f := range findings {
		fields[f.Field] = f.Severity
	}
	for _, want := range []string{"owner", "objective", "target", "unit"} {
		if fields[want] != SeverityWarning {
			t.Errorf("no warning on %s; findings: %v", want, findings)
		}
	}
	if HasErrors(findings) {
		t.Errorf("errors in %v, want warnings only", findings)
	}
}

func TestCheckKPIFormulaCycle(t *testing.T) {
	defs := baseDefinitions(t)
	a, findings := defs.CheckKPI(decodeInput(t, `{"id": "a", "name": "A", "metric": {"kind": "count", "event": "x"}}`), "", inputNow)
	if HasErrors(findings) {
		t.Fatal(findings)
	}
	defs.KPIs = append(defs.KPIs, a)
	b, findings := defs.CheckKPI(decodeInput(t, `{"id": "b", "name": "B", "metric": {"kind": "formula", "formula": "a * 2"}}`), "", inputNow)
	if HasErrors(findings) {
		t.Fatal(findings)
	}
	defs.KPIs = append(defs.KPIs, b)

	_, findings = defs.CheckKPI(decodeInput(t, `{"id": "a", "name": "A", "metric": {"kind": "formula", "formula": "b + 1"}}`), "a", inputNow)
	if !HasErrors(findings) || !strings.Contains(findings[0].Message, "cycle") {
		t.Errorf("findings = %v, want a cycle error", findings)
	}
	if got := defs.Dependents("a"); len(got) != 1 || got[0] != "b" {
		t.Errorf("Dependents(a) = %v, want [b]", got)
	}
}

func TestKPIInputRoundTrip(t *testing.T) {
	in := decodeInput(t, `{"id": "signups", "name": "Signups", "metric": {"kind": "count", "event": "signup", "where": {"plan": ["pro", "team"]}},
		"target": {"change": "+20%", "by": "2027-03-31"}, "baseline": {"date": "2026-06-01"}}`)
	data, err := EncodeKPIInput(in)
	if err != nil {
		t.Fatal(err)
	}

	defs, err := baseDefinitions(t).WithKPIs([][]byte{data}, inputNow)
	if err != nil {
		t.Fatalf("WithKPIs(%s): %v", data, err)
	}
	k, err := defs.KPI("signups")
	if err != nil {
		t.Fatal(err)
	}
	if *k.Target.Change != 0.2 || k.Target.By.String() != "2027-03-31" || len(k.Metric.Filters) != 1 || len(k.Metric.Filters[0].Values) != 2 {
		t.Errorf("after a round trip through %s: %+v", data, k)
	}
}

func TestWithKPIsLeavesOutClash(t *testing.T) {
	defs, err := baseDefinitions(t).WithKPIs([][]byte{[]byte(`{"id": "revenue", "name": "R", "metric": {"kind": "count", "event": "x"}}`)}, inputNow)
	if err == nil || !strings.Contains(err.Error(), `KPI "revenue" stored in the database is left out`) {
		t.Errorf("err = %v", err)
	}
	if len(defs.KPIs) != 1 || defs.KPIs[0].IsManagedByUI() {
		t.Errorf("KPIs = %v, want only the file's", defs.KPIs)
	}
}

func TestDecodeKPIInputUnknownField(t *testing.T) {
	_, err := DecodeKPIInput([]byte(`{"id": "a", "colour": "red"}`))
	if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "colour") {
		t.Errorf("err = %v, want an invalid error naming colour", err)
	}
}

func TestAnnotationValidate(t *testing.T) {
	good := func() Annotation {
		d, _ := ParseAnnotationDate("2026-11-02")
		return Annotation{Kind: Release, Date: d, Note: "  Shipped onboarding v2 "}
	}
	a := good()
	if err := a.Validate(); err != nil || a.Note != "Shipped onboarding v2" {
		t.Errorf("Validate = %v, note %q", err, a.Note)
	}

	cases := []struct {
		edit func(*Annotation)
		text string
	}{
		{func(a *Annotation) { a.Kind = "launch" }, `kind: "launch" is not an annotation kind`},
		{func(a *Annotation) { a.Note = "   " }, "note: missing"},
		{func(a *Annotation) { a.Note = strings.Repeat("x", MaxAnnotationNote+1) }, "note: 501 characters is too long"},
	}
	for _, c := range cases {
		a := good()
		c.edit(&a)
		if err := a.Validate(); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Validate = %v, want %q", err, c.text)
		}
	}

	for _, s := range []string{"2026-02-30", "02/11/2026", "1969-12-31", "2101-01-01"} {
		if _, err := ParseAnnotationDate(s); ErrorCode(err) != EINVALID {
			t.Errorf("ParseAnnotationDate(%q) = %v, want invalid", s, err)
		}
	}
}

func TestFeedbackValidate(t *testing.T) {
	f := Feedback{Text: " Too many steps ", Source: "interview"}
	if err := f.Validate(); err != nil || f.Text != "Too many steps" {
		t.Errorf("Validate = %v, text %q", err, f.Text)
	}
	f = Feedback{Text: ""}
	if err := f.Validate(); !strings.Contains(err.Error(), "text: missing") {
		t.Errorf("Validate = %v", err)
	}
	f = Feedback{Text: "x", Author: strings.Repeat("a", MaxPersonName+1)}
	if err := f.Validate(); !strings.Contains(err.Error(), "author:") {
		t.Errorf("Validate = %v", err)
	}
}

func TestWithKPIsFormulaBeforeItsInput(t *testing.T) {
	stored := [][]byte{
		[]byte(`{"id": "double_signups", "name": "Double signups", "metric": {"kind": "formula", "formula": "signups * 2"}}`),
		[]byte(`{"id": "signups", "name": "Signups", "metric": {"kind": "count", "event": "signup"}}`),
	}
	defs, err := baseDefinitions(t).WithKPIs(stored, inputNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs.KPIs) != 3 {
		t.Errorf("%d KPIs, want 3", len(defs.KPIs))
	}
}

func TestDecodeKPIInputTypeErrorsNameField(t *testing.T) {
	cases := []struct {
		body, want string
	}{
		{`{"id":"x","name":"X","metric":{"kind":"funnel","steps":["a","b"],"window":"30d"}}`,
			`metric.window: found the text "30d", expected a whole number of days, e.g. 30`},
		{`{"id":"x","name":["a","b"],"metric":{"kind":"count","event":"a"}}`,
			`name: found a list, expected text`},
		{`{"id":"x","name":"X","metric":{"kind":"retention","event":"a","offset":"one"}}`,
			`metric.offset: found the text "one", expected a whole number`},
		{"id: x\nmetric:\n  kind: funnel\n  window: 30d\n",
			`metric.window: found the text "30d", expected a whole number of days, e.g. 30`},
	}
	for _, c := range cases {
		_, err := DecodeKPIInput([]byte(c.body))
		if err == nil {
			t.Errorf("DecodeKPIInput(%s): no error, want %q", c.body, c.want)
			continue
		}
		if got := ErrorMessage(err); got != c.want {
			t.Errorf("DecodeKPIInput(%s): error %q, want %q", c.body, got, c.want)
		}
	}
}
