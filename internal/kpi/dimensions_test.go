package kpi

import (
	"slices"
	"strings"
	"testing"
)

const dimensionsKPIs = `dimensions: %s
kpis:
  - {id: revenue, name: Revenue, metric: {kind: sum, event: purchase, property: amount}}
`

func TestParseDimensions(t *testing.T) {
	defs, err := Parse("kpis.yaml", []byte(strings.Replace(dimensionsKPIs, "%s", "[plan, country, \"plan.tier\"]", 1)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []string{"plan", "country", "plan.tier"}
	if !slices.Equal(defs.Dimensions, want) {
		t.Errorf("dimensions = %q, want %q", defs.Dimensions, want)
	}
}

func TestParseDimensionsMissing(t *testing.T) {
	for _, doc := range []string{
		"kpis:\n  - {id: revenue, name: Revenue, metric: {kind: sum, event: purchase, property: amount}}\n",
		strings.Replace(dimensionsKPIs, "%s", "", 1),
		strings.Replace(dimensionsKPIs, "%s", "[]", 1),
	} {
		defs, err := Parse("kpis.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		if len(defs.Dimensions) != 0 {
			t.Errorf("Parse(%q): dimensions = %q, want none", doc, defs.Dimensions)
		}
	}
}

func TestParseDimensionsInvalid(t *testing.T) {
	cases := []struct {
		value string
		want  string // part of the error message
	}{
		{"plan", `dimensions: must be a list of event property names, such as [plan, country], not the text "plan"`},
		{"{plan: true}", "dimensions: must be a list of event property names, such as [plan, country], not a map"},
		{"[plan, plan]", `dimensions[1]: "plan" is listed twice`},
		{"[plan, 7]", "dimensions[1]: must be an event property name, not the number 7"},
		{"[[plan]]", "dimensions[0]: must be an event property name, not a list"},
		{`["", plan]`, `dimensions[0]: "" is an empty name`},
		{`["  ", plan]`, `dimensions[0]: "  " is an empty name`},
		{`[" plan"]`, `dimensions[0]: " plan" is not a property name`},
		{`['say "hi"']`, `dimensions[0]: "say \"hi\"" contains a double quote`},
	}
	for _, c := range cases {
		_, err := Parse("kpis.yaml", []byte(strings.Replace(dimensionsKPIs, "%s", c.value, 1)))
		if err == nil {
			t.Errorf("dimensions: %s: no error, want %q", c.value, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("dimensions: %s: error %q, want it to contain %q", c.value, err, c.want)
		}
	}
}
