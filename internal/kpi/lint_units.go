package kpi

import (
	"maps"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// unitState is how much is known about the unit of a formula's value.
type unitState int

const (
	unknownUnit unitState = iota // a named metric, a KPI without a unit, or the result of a function or comparison
	literalUnit                  // a number literal, which takes the unit of whatever it is added to
	knownUnit
)

// unit is the unit of a formula's value: a product of the KPIs' units, each
// with an integer exponent, such as USD/orders. A known unit without powers is
// a ratio of like quantities, such as customers/customers.
type unit struct {
	state  unitState
	powers map[string]int    // canonical unit name → exponent, never 0
	names  map[string]string // canonical unit name → the name as written, for messages
}

// canonicalUnit returns the name units are compared by: trimmed and
// lower-cased, with "percent" spelled "%".
func canonicalUnit(s string) string {
	c := strings.ToLower(strings.TrimSpace(s))
	if c == "percent" {
		return "%"
	}
	return c
}

// namedUnit returns the unit a KPI declares, or an unknown unit when it
// declares none.
func namedUnit(written string) unit {
	written = strings.TrimSpace(written)
	if written == "" {
		return unit{state: unknownUnit}
	}
	c := canonicalUnit(written)
	return unit{state: knownUnit, powers: map[string]int{c: 1}, names: map[string]string{c: written}}
}

// plain returns the canonical name of u when u is one unit to the power 1,
// such as USD, and false for products, ratios and units not known.
func (u unit) plain() (string, bool) {
	if u.state != knownUnit || len(u.powers) != 1 {
		return "", false
	}
	for name, power := range u.powers {
		return name, power == 1
	}
	return "", false
}

func (u unit) same(v unit) bool { return maps.Equal(u.powers, v.powers) }

// String formats u as its numerator units joined by "·", then "/" and its
// denominator units, each in name order, such as USD/orders or
// USD·users/(days·orders).
func (u unit) String() string {
	switch {
	case u.state == unknownUnit:
		return "unknown unit"
	case u.state == literalUnit:
		return "a number"
	case len(u.powers) == 0:
		return "no unit"
	}

	var numerator, denominator []string
	for _, c := range sortedKeys(u.powers) {
		power := u.powers[c]
		term := u.names[c]
		if power > 1 || power < -1 {
			term += "^" + strconv.Itoa(max(power, -power))
		}
		if power > 0 {
			numerator = append(numerator, term)
		} else {
			denominator = append(denominator, term)
		}
	}

	s := strings.Join(numerator, "·")
	if s == "" {
		s = "1"
	}
	switch len(denominator) {
	case 0:
		return s
	case 1:
		return s + "/" + denominator[0]
	default:
		return s + "/(" + strings.Join(denominator, "·") + ")"
	}
}

// product returns the unit of a*b when sign is 1 and of a/b when sign is -1.
// A number literal has no unit here: USD * 2 is USD, 1 / orders is 1/orders.
func product(a, b unit, sign int) unit {
	switch {
	case a.state == unknownUnit || b.state == unknownUnit:
		return unit{state: unknownUnit}
	case a.state == literalUnit && b.state == literalUnit:
		return unit{state: literalUnit}
	}

	out := unit{state: knownUnit, powers: map[string]int{}, names: map[string]string{}}
	for c, p := range a.powers {
		out.powers[c] += p
		out.names[c] = a.names[c]
	}
	for c, p := range b.powers {
		out.powers[c] += sign * p
		if _, ok := out.names[c]; !ok {
			out.names[c] = b.names[c]
		}
	}
	for c, p := range out.powers {
		if p == 0 {
			delete(out.powers, c)
			delete(out.names, c)
		}
	}
	return out
}

// unitMismatch is an addition or subtraction of two different units.
type unitMismatch struct {
	node        *ast.BinaryNode
	left, right unit
}

// inferUnit returns the unit of node's value, given the unit of each name,
// and appends every addition or subtraction of different units to
// mismatches. The result of a mismatch is unknown, so one mistake is reported
// once. Comparisons, conditionals and function calls have an unknown unit,
// but the expressions inside them are still checked.
func inferUnit(node ast.Node, units map[string]unit, mismatches *[]unitMismatch) unit {
	switch n := node.(type) {
	case *ast.IdentifierNode:
		if u, ok := units[n.Value]; ok {
			return u
		}
		return unit{state: unknownUnit} // a named metric under metrics:, which has no unit
	case *ast.IntegerNode, *ast.FloatNode:
		return unit{state: literalUnit}
	case *ast.UnaryNode:
		u := inferUnit(n.Node, units, mismatches)
		if n.Operator == "-" || n.Operator == "+" {
			return u
		}
	case *ast.BinaryNode:
		left := inferUnit(n.Left, units, mismatches)
		right := inferUnit(n.Right, units, mismatches)
		switch n.Operator {
		case "+", "-":
			return sum(n, left, right, mismatches)
		case "*":
			return product(left, right, 1)
		case "/":
			return product(left, right, -1)
		}
	case *ast.ConditionalNode:
		for _, child := range []ast.Node{n.Cond, n.Exp1, n.Exp2} {
			inferUnit(child, units, mismatches)
		}
	case *ast.BuiltinNode:
		for _, arg := range n.Arguments {
			inferUnit(arg, units, mismatches)
		}
	case *ast.CallNode:
		for _, arg := range n.Arguments {
			inferUnit(arg, units, mismatches)
		}
	}
	return unit{state: unknownUnit}
}

// sum returns the unit of left + right or left - right. A number literal
// takes the other side's unit, and an unknown side skips the check.
func sum(n *ast.BinaryNode, left, right unit, mismatches *[]unitMismatch) unit {
	switch {
	case left.state == unknownUnit || right.state == unknownUnit:
		return unit{state: unknownUnit}
	case left.state == literalUnit:
		return right
	case right.state == literalUnit || left.same(right):
		return left
	}
	*mismatches = append(*mismatches, unitMismatch{node: n, left: left, right: right})
	return unit{state: unknownUnit}
}

// formulaUnits reports every unit mismatch in a formula as an error, located
// by path, kpiID and field, and returns the unit of the formula's value.
func (l *linter) formulaUnits(path, kpiID, field string, f *CompiledFormula) unit {
	var mismatches []unitMismatch
	got := inferUnit(f.program.Node(), l.units, &mismatches)

	for _, m := range mismatches {
		verb, joiner := "adds", "to"
		first, second := side(m.node.Left, m.left), side(m.node.Right, m.right)
		if m.node.Operator == "-" {
			verb, joiner = "subtracts", "from"
			first, second = second, first
		}
		l.add(SeverityError, path, kpiID, field, "%q %s %s %s %s, and values in different units cannot be added or subtracted; "+
			"fix the formula, or the unit of the KPI that is wrong", m.node.String(), verb, first, joiner, second)
	}
	return got
}

// side formats one operand of a mismatch, such as "USD (revenue)".
func side(node ast.Node, u unit) string {
	return u.String() + " (" + node.String() + ")"
}
