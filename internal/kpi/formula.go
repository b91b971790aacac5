package kpi

import (
	"fmt"
	"math"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// CompiledFormula is a formula metric ready to evaluate, such as
// "revenue / orders". It is safe for concurrent use.
type CompiledFormula struct {
	Source  string
	names   []string // metric and KPI ids the formula uses, sorted
	program *vm.Program
}

// CompileFormula compiles src with expr-lang/expr. Every identifier must be one
// of known (metric and KPI ids); the result must be a number.
func CompileFormula(src string, known map[string]bool) (*CompiledFormula, error) {
	env := make(map[string]any, len(known))
	for name := range known {
		env[name] = 0.0
	}
	program, err := expr.Compile(src, expr.Env(env), expr.AsFloat64())
	if err != nil {
		return nil, fmt.Errorf("%q does not compile: %v", src, firstLine(err.Error()))
	}

	c := &CompiledFormula{Source: src, program: program}
	seen := map[string]bool{}
	node := program.Node()
	ast.Walk(&node, identifierVisitor(func(name string) {
		if known[name] && !seen[name] {
			seen[name] = true
			c.names = append(c.names, name)
		}
	}))
	sort.Strings(c.names)
	if len(c.names) == 0 {
		return nil, fmt.Errorf("%q uses no metric (write an expression over metric or KPI ids, such as revenue / orders)", src)
	}
	return c, nil
}

// Names returns the metric and KPI ids the formula uses.
func (c *CompiledFormula) Names() []string { return c.names }

// Eval computes the formula from the values of its names. It returns ok false
// with a reason when the result is no number: a division by zero, or a value
// that is infinite or not a number.
func (c *CompiledFormula) Eval(values map[string]float64) (v float64, ok bool, reason string) {
	env := make(map[string]any, len(values))
	for k, x := range values {
		env[k] = x
	}
	out, err := expr.Run(c.program, env)
	if err != nil {
		return 0, false, fmt.Sprintf("formula failed: %v", firstLine(err.Error()))
	}
	f, isFloat := out.(float64)
	switch {
	case !isFloat:
		return 0, false, fmt.Sprintf("formula returned %T, not a number", out)
	case math.IsInf(f, 0) || math.IsNaN(f):
		return 0, false, "division by zero"
	}
	return f, true, ""
}

type identifierVisitor func(name string)

func (v identifierVisitor) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		v(id.Value)
	}
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
