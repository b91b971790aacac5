package kpi

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

var formulaNames = map[string]bool{"revenue": true, "orders": true, "visitors": true}

func TestCompileFormula(t *testing.T) {
	tests := []struct {
		src       string
		wantNames string
	}{
		{"revenue / orders", "orders,revenue"},
		{"orders / visitors * 100", "orders,visitors"},
		{"(revenue + revenue) / 2", "revenue"},
		{"revenue", "revenue"},
	}
	for _, tt := range tests {
		c, err := CompileFormula(tt.src, formulaNames)
		if err != nil {
			t.Errorf("CompileFormula(%q): %v", tt.src, err)
			continue
		}
		if got := strings.Join(c.Names(), ","); got != tt.wantNames {
			t.Errorf("CompileFormula(%q).Names() = %s, want %s", tt.src, got, tt.wantNames)
		}
		if c.Source != tt.src {
			t.Errorf("Source = %q, want %q", c.Source, tt.src)
		}
	}
}

func TestCompileFormulaErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown name", "revenue / refunds", "unknown name refunds"},
		{"syntax error", "revenue /", "does not compile"},
		{"text result", `"revenue"`, "does not compile"},
		{"no metric", "1 + 2", "uses no metric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileFormula(tt.src, formulaNames)
			if err == nil {
				t.Fatalf("CompileFormula(%q): no error", tt.src)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tt.src)) {
				t.Errorf("error %q does not quote the formula", err)
			}
		})
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		values     map[string]float64
		want       float64
		wantOK     bool
		wantReason string
	}{
		{"average order value", "revenue / orders", map[string]float64{"revenue": 1000, "orders": 40}, 25, true, ""},
		{"fraction", "revenue / orders", map[string]float64{"revenue": 7, "orders": 2}, 3.5, true, ""},
		{"percentage", "orders / visitors * 100", map[string]float64{"orders": 3, "visitors": 60}, 5, true, ""},
		{"negative", "revenue - orders", map[string]float64{"revenue": 1, "orders": 4}, -3, true, ""},
		{"zero numerator", "revenue / orders", map[string]float64{"revenue": 0, "orders": 4}, 0, true, ""},
		{"division by zero", "revenue / orders", map[string]float64{"revenue": 1000, "orders": 0}, 0, false, "division by zero"},
		{"negative division by zero", "revenue / orders", map[string]float64{"revenue": -5, "orders": 0}, 0, false, "division by zero"},
		{"zero by zero", "revenue / orders", map[string]float64{"revenue": 0, "orders": 0}, 0, false, "division by zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CompileFormula(tt.src, formulaNames)
			if err != nil {
				t.Fatalf("CompileFormula(%q): %v", tt.src, err)
			}

			got, ok, reason := c.Eval(tt.values)

			if ok != tt.wantOK {
				t.Fatalf("Eval ok = %v, want %v (value %g, reason %q)", ok, tt.wantOK, got, reason)
			}
			if reason != tt.wantReason {
				t.Errorf("Eval reason = %q, want %q", reason, tt.wantReason)
			}
			if ok && math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Eval = %g, want %g", got, tt.want)
			}
		})
	}
}

func TestEvalReusesProgram(t *testing.T) {
	c, err := CompileFormula("revenue / orders", formulaNames)
	if err != nil {
		t.Fatal(err)
	}

	first, _, _ := c.Eval(map[string]float64{"revenue": 10, "orders": 5})
	_, ok, _ := c.Eval(map[string]float64{"revenue": 10, "orders": 0})
	third, _, _ := c.Eval(map[string]float64{"revenue": 9, "orders": 3})

	if first != 2 || ok || third != 3 {
		t.Errorf("evaluations = %g, ok %v, %g; want 2, false, 3", first, ok, third)
	}
}
