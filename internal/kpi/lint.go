package kpi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/parser"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Severity marks a finding as one that stops a KPI file from working, or one
// that only makes a KPI harder to act on.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"   // the file does not load, or a formula mixes units
	SeverityWarning Severity = "warning" // the file works, but a KPI lacks something it needs to be tracked well
)

// Finding is one problem in a KPI file, found by loading it or by Lint.
type Finding struct {
	Severity Severity
	File     string
	Line     int    // 1-based, or 0 when the problem has no place in the file
	KPI      string // id of the KPI the problem is in, or empty outside a KPI
	Field    string // the field as written in the file, such as target.by
	Message  string // what is wrong and what to do
}

// String formats f as "FILE:LINE: kpi "ID": FIELD: message", leaving out the
// line, KPI and field when f has none. The severity is not part of it.
func (f Finding) String() string {
	var sb strings.Builder
	sb.WriteString(f.File)
	if f.Line > 0 {
		sb.WriteString(":" + strconv.Itoa(f.Line))
	}
	sb.WriteString(": ")
	if f.KPI != "" {
		fmt.Fprintf(&sb, "kpi %q: ", f.KPI)
	}
	if f.Field != "" {
		sb.WriteString(f.Field + ": ")
	}
	sb.WriteString(f.Message)
	return sb.String()
}

// DefaultMaxKPIsPerObjective is the number of KPIs one objective may have
// before Lint warns. Seven is a rule of thumb for a list that a team can
// review in one meeting, not a measured limit.
const DefaultMaxKPIsPerObjective = 7

// LintOptions set the clock and the limits that Lint checks against.
type LintOptions struct {
	// Now is the current time. A target date before today, in the
	// workspace's time zone, is in the past.
	Now time.Time

	// MaxKPIsPerObjective is the number of KPIs an objective may have before
	// Lint warns. 0 means DefaultMaxKPIsPerObjective.
	MaxKPIsPerObjective int
}

// vagueNames are single words that name an area rather than a quantity, so a
// KPI called only that does not say what is measured.
var vagueNames = map[string]bool{
	"activity": true, "adoption": true, "data": true, "engagement": true, "growth": true,
	"health": true, "impact": true, "kpi": true, "kpis": true, "metric": true, "metrics": true,
	"performance": true, "progress": true, "results": true, "success": true, "usage": true, "value": true,
}

// Lint checks the KPI file content data and returns its findings ordered by
// line, with path as their file. A file that does not load yields the
// loader's problems as errors and nothing else. A file that loads is checked
// for unit mismatches in formulas (errors) and for KPIs that are hard to act
// on (warnings): no target, a target date in the past, no owner, no
// objective, a vague name, a declared unit that its formula contradicts, and
// objectives with more than the allowed number of KPIs.
func Lint(path string, data []byte, opts LintOptions) []Finding {
	defs, problems := parse(path, data)
	if len(problems) > 0 {
		sortFindings(problems)
		return problems
	}

	file, _ := parser.ParseBytes(data, 0)
	l := &linter{
		defs:  defs,
		today: timegrain.DateOf(opts.Now.In(defs.Workspace.Location)),
		line:  func(yamlPath string) int { return lineOf(file, yamlPath) },
	}
	l.units = make(map[string]unit, len(defs.KPIs))
	for _, k := range defs.KPIs {
		l.units[k.ID] = namedUnit(k.Unit)
	}

	for i, k := range defs.KPIs {
		l.kpi(fmt.Sprintf("$.kpis[%d]", i), k)
	}
	for _, name := range sortedKeys(defs.Metrics) {
		if m := defs.Metrics[name]; m.Compiled != nil {
			l.formulaUnits("$.metrics."+name+".formula", "", "metrics."+name+".formula", m.Compiled)
		}
	}

	maxKPIs := opts.MaxKPIsPerObjective
	if maxKPIs <= 0 {
		maxKPIs = DefaultMaxKPIsPerObjective
	}
	l.objectiveSizes(maxKPIs)

	sortFindings(l.findings)
	return l.findings
}

// sortFindings orders findings by line, keeping the order of those on one line.
func sortFindings(findings []Finding) {
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Line < findings[j].Line })
}

// linter collects the findings of one loaded file.
type linter struct {
	defs     *Definitions
	today    timegrain.Date
	line     func(yamlPath string) int
	units    map[string]unit // declared unit of each KPI, by id
	findings []Finding
}

func (l *linter) add(severity Severity, yamlPath, kpiID, field, format string, args ...any) {
	l.findings = append(l.findings, Finding{
		Severity: severity,
		File:     l.defs.Path,
		Line:     l.line(yamlPath),
		KPI:      kpiID,
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
	})
}

// kpi checks one KPI at the YAML path, such as $.kpis[2].
func (l *linter) kpi(path string, k *KPI) {
	if vague, why := vagueName(k); vague {
		l.add(SeverityWarning, path+".name", k.ID, "name", "%q %s; name the quantity it measures, such as %q", k.Name, why, "Customers who ordered this week")
	}
	if strings.TrimSpace(k.Owner) == "" {
		l.add(SeverityWarning, path+".owner", k.ID, "owner", "missing: name the person or team accountable for this KPI, such as growth@example.com")
	}
	if strings.TrimSpace(k.Objective) == "" {
		l.add(SeverityWarning, path+".objective", k.ID, "objective", "missing: link the KPI to the business goal it serves, an id from objectives:")
	}

	switch {
	case k.Target == nil:
		l.add(SeverityWarning, path+".target", k.ID, "target", "missing: without a target the KPI is never on or off track; add target: with value: (or change: and a baseline) and by: YYYY-MM-DD")
	default:
		// The latest revision in the file replaces the first target's date.
		by, byPath, byField := k.Target.By, path+".target.by", "target.by"
		if n := len(k.Targets); n > 0 {
			by, byPath, byField = k.Targets[n-1].Target.By, fmt.Sprintf("%s.targets[%d].by", path, n-1), fmt.Sprintf("targets[%d].by", n-1)
		}
		if !by.IsZero() && by.String() < l.today.String() {
			l.add(SeverityWarning, byPath, k.ID, byField, "%s is in the past (today is %s in %s); set the next target with a later date, or retire the KPI",
				by, l.today, l.defs.Workspace.Location)
		}
	}

	if k.Metric.Compiled == nil {
		return
	}
	got := l.formulaUnits(path+".metric.formula", k.ID, "metric.formula", k.Metric.Compiled)
	name, plain := got.plain()
	if plain && strings.TrimSpace(k.Unit) != "" && canonicalUnit(k.Unit) != name {
		l.add(SeverityWarning, path+".unit", k.ID, "unit", "%q does not match the formula %q, which gives %s; set unit: %s, or fix the formula",
			k.Unit, k.Metric.Compiled.Source, got, got)
	}
}

// vagueName reports whether k's name is one generic word (see vagueNames) or
// only its metric kind written as words, such as "Unique users", and why.
func vagueName(k *KPI) (bool, string) {
	name := strings.ToLower(strings.Join(strings.Fields(k.Name), " "))
	switch {
	case vagueNames[name]:
		return true, "is a generic word that does not say what is measured"
	case name == strings.ReplaceAll(string(k.Metric.Kind), "_", " "):
		return true, fmt.Sprintf("only names the metric kind (%s)", k.Metric.Kind)
	}
	return false, ""
}

// objectiveSizes warns about every objective that more than maxKPIs KPIs serve.
func (l *linter) objectiveSizes(maxKPIs int) {
	ids := map[string][]string{}
	for _, k := range l.defs.KPIs {
		if k.Objective != "" {
			ids[k.Objective] = append(ids[k.Objective], k.ID)
		}
	}

	for i, o := range l.defs.Objectives {
		n := len(ids[o.ID])
		if n <= maxKPIs {
			continue
		}
		l.add(SeverityWarning, fmt.Sprintf("$.objectives[%d]", i), "", fmt.Sprintf("objectives[%d]", i),
			"objective %q has %d KPIs (%s), more than %d: teams that track too many KPIs stop acting on any of them. "+
				"Keep the few that show whether the objective is met, and move the others under metrics:, where formulas can still use them",
			o.ID, n, strings.Join(ids[o.ID], ", "), maxKPIs)
	}
}
