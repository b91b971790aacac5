package main

import (
	"strings"
	"testing"
)

func TestKPITemplatesList(t *testing.T) {
	code, stdout, stderr := runCLI(t, "kpi", "templates")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}

	// The catalogue that product guides name first, one line each.
	want := []string{"cac", "nps", "dau", "wau", "mau", "stickiness", "d1_retention", "d7_retention", "d30_retention",
		"monthly_retention", "churn", "conversion_funnel", "activation_rate", "mrr", "arpu", "ltv", "aov"}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < len(want) {
		t.Fatalf("got %d lines, want at least %d:\n%s", len(lines), len(want), stdout)
	}
	for i, name := range want {
		fields := strings.Fields(lines[i])
		if len(fields) < 2 || fields[0] != name {
			t.Errorf("line %d = %q, want %s and its description", i+1, lines[i], name)
		}
	}
	if !strings.Contains(stdout, "northstar kpi templates NAME") {
		t.Errorf("the list does not say how to print one template:\n%s", stdout)
	}
}

func TestKPITemplatesPrintOne(t *testing.T) {
	code, stdout, stderr := runCLI(t, "kpi", "templates", "d7_retention")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	for _, want := range []string{"# Day-7 retention", "id: d7_retention", "kind: retention", "offset: 7", "mode: rolling"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestKPITemplatesErrors(t *testing.T) {
	tests := []struct {
		args    []string
		message string
	}{
		{[]string{"kpi", "templates", "dua"}, `no KPI template named "dua"`},
		{[]string{"kpi", "templates", "dau", "mau"}, "kpi templates takes at most one NAME"},
		{[]string{"kpi"}, "name a command, as in northstar kpi templates"},
		{[]string{"kpi", "lint"}, `unknown command "lint" for northstar kpi`},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(t, tc.args...)
		if code != exitInvalid {
			t.Errorf("%v: exit code %d, want %d", tc.args, code, exitInvalid)
		}
		if !strings.Contains(stderr, tc.message) {
			t.Errorf("%v: stderr %q, want it to contain %q", tc.args, stderr, tc.message)
		}
	}
}
