package kpi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// Length limits of a KPI's texts, in characters. A name is shown in cards,
// tables and chart titles, so it is limited like a dashboard's name.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 2000
	MaxOwnerLen       = 200
)

// checkLength adds a finding when value is longer than limit characters.
func (l *loader) checkLength(path, id, field, value string, limit int) {
	if n := utf8.RuneCountInString(value); n > limit {
		l.addf(path, id, field, "is %d characters long; the limit is %d (shorten it)", n, limit)
	}
}

func (l *loader) kpi(path string, f *fileKPI, objectives, names map[string]bool) *KPI {
	id := f.ID
	k := &KPI{
		ID:          f.ID,
		Name:        strings.TrimSpace(f.Name),
		Description: f.Description,
		Objective:   f.Objective,
		Owner:       f.Owner,
		Unit:        f.Unit,
		Direction:   Up,
		Grain:       timegrain.Month,
		Thresholds:  DefaultThresholds,
		Breakdown:   strings.TrimSpace(f.Breakdown),
	}

	if k.Name == "" {
		l.addf(path, id, "name", "missing (give the KPI a name people will recognise)")
	}
	l.checkLength(path+".name", id, "name", k.Name, MaxNameLen)
	l.checkLength(path+".description", id, "description", k.Description, MaxDescriptionLen)
	l.checkLength(path+".owner", id, "owner", k.Owner, MaxOwnerLen)
	if f.Objective != "" && !objectives[f.Objective] {
		l.addf(path+".objective", id, "objective", "%q is not a defined objective (define it under objectives:)", f.Objective)
	}
	switch Direction(f.Direction) {
	case "":
	case Up, Down:
		k.Direction = Direction(f.Direction)
	default:
		l.addf(path+".direction", id, "direction", "%q is not valid (want up or down: whether higher values are better)", f.Direction)
	}
	if f.Grain != "" {
		g, err := timegrain.ParseGrain(f.Grain)
		if err != nil {
			l.addf(path+".grain", id, "grain", "%q is not valid (want day, week, month or quarter)", f.Grain)
		} else {
			k.Grain = g
		}
	}

	if f.Metric == nil {
		l.addf(path, id, "metric", "missing (say what to compute, for example kind: count with event: signup)")
	} else {
		k.Metric = l.metric(path+".metric", id, "metric", f.Metric, names)
	}
	if k.Metric.Kind == Retention && k.Metric.RetentionGrain == "" {
		k.Metric.RetentionGrain = k.Grain
		if k.Grain == timegrain.Quarter {
			l.addf(path+".metric", id, "metric.period", "missing: retention is counted by day, week or month, and the KPI's grain is quarter")
		}
	}

	if f.Baseline != nil {
		k.Baseline = l.baseline(path+".baseline", id, f.Baseline)
	}
	if f.Target != nil {
		k.Target = l.target(path+".target", id, f.Target, k.Baseline)
	}
	if f.Thresholds != nil {
		k.Thresholds = l.thresholds(path+".thresholds", id, f.Thresholds)
	}
	k.Targets = l.revisions(path+".targets", id, f.Targets, k)
	k.Benchmarks = l.benchmarks(path+".benchmarks", id, f.Benchmarks, k.Baseline != nil)
	if f.Review != "" {
		c, err := ParseCadence(f.Review)
		if err != nil {
			l.addf(path+".review", id, "review", "%q is not valid (want weekly, monthly or quarterly)", f.Review)
		}
		k.Review = c
	}
	return k
}

func (l *loader) metric(path, id, field string, f *fileMetric, names map[string]bool) Metric {
	m := Metric{Kind: MetricKind(f.Kind), Event: f.Event, Property: f.Property, Formula: f.Formula}

	switch m.Kind {
	case Count, UniqueUsers, Sum, Average:
		if strings.TrimSpace(f.Event) == "" {
			l.addf(path, id, field+".event", "missing (name the event to compute %s over)", m.Kind)
		}
		if f.Formula != "" {
			l.addf(path+".formula", id, field+".formula", "only used with kind: formula")
		}
	case Formula:
		if f.Event != "" || f.Property != "" || len(f.Where) > 0 {
			l.addf(path+".kind", id, field, "a formula takes no event, property or where; put those on the metrics it uses")
		}
		if strings.TrimSpace(f.Formula) == "" {
			l.addf(path, id, field+".formula", "missing (write an expression over metric or KPI ids, such as revenue / orders)")
			return m
		}
		compiled, err := CompileFormula(f.Formula, names)
		if err != nil {
			l.addf(path+".formula", id, field+".formula", "%v (known names: %s)", err, knownNames(names))
			return m
		}
		m.Compiled = compiled
		return m
	case ActiveUsers, Stickiness, NewUsers, Churn, Retention, Funnel, NPS, MRR, ActiveSubscriptions, SubscriptionChurn, Measurement:
		l.activityMetric(path, id, field, f, &m)
	case "":
		l.addf(path, id, field+".kind", "missing (want one of %s)", metricKindList)
		return m
	default:
		l.addf(path+".kind", id, field+".kind", "%q is not a metric kind (want one of %s)", f.Kind, metricKindList)
		return m
	}

	switch {
	case (m.Kind == Sum || m.Kind == Average || m.Kind == NPS) && strings.TrimSpace(f.Property) == "":
		l.addf(path, id, field+".property", "missing (name the numeric property to %s)", m.Kind)
	case (m.Kind == Count || m.Kind == UniqueUsers) && f.Property != "":
		l.addf(path+".property", id, field+".property", "only used with kind: sum or average")
	}
	if strings.Contains(f.Property, `"`) {
		l.addf(path+".property", id, field+".property", "%q contains a double quote, which property names may not", f.Property)
	}

	for _, prop := range sortedKeys(f.Where) {
		filter, err := parseFilter(prop, f.Where[prop])
		if err != nil {
			l.addf(path+".where."+prop, id, field+".where."+prop, "%v", err)
			continue
		}
		m.Filters = append(m.Filters, filter)
	}
	return m
}

// parseFilter reads one where entry: a value (equals), a list (in), or a
// mapping with one operator such as {gte: 10}.
func parseFilter(prop string, v any) (Filter, error) {
	if strings.Contains(prop, `"`) {
		return Filter{}, fmt.Errorf("property names may not contain a double quote")
	}
	switch x := v.(type) {
	case []any:
		values, err := filterValues(x)
		return Filter{Property: prop, Op: OpIn, Values: values}, err
	case map[string]any:
		if len(x) != 1 {
			return Filter{}, fmt.Errorf("want exactly one operator (eq, neq, in, gt, gte, lt, lte), found %d", len(x))
		}
		for opName, arg := range x {
			op := FilterOp(opName)
			switch op {
			case OpEq, OpNeq:
				value, err := filterValue(arg)
				return Filter{Property: prop, Op: op, Value: value}, err
			case OpIn:
				list, ok := arg.([]any)
				if !ok {
					return Filter{}, fmt.Errorf("in: want a list of values, such as [US, CA]")
				}
				values, err := filterValues(list)
				return Filter{Property: prop, Op: op, Values: values}, err
			case OpGt, OpGte, OpLt, OpLte:
				n, err := number(arg)
				if err != nil {
					return Filter{}, fmt.Errorf("%s: %v", op, err)
				}
				return Filter{Property: prop, Op: op, Value: n}, nil
			default:
				return Filter{}, fmt.Errorf("%q is not an operator (want eq, neq, in, gt, gte, lt or lte)", opName)
			}
		}
	}
	value, err := filterValue(v)
	return Filter{Property: prop, Op: OpEq, Value: value}, err
}

func filterValues(list []any) ([]any, error) {
	out := make([]any, 0, len(list))
	for _, v := range list {
		x, err := filterValue(v)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// filterValue normalises a YAML scalar to a string, float64 or bool.
func filterValue(v any) (any, error) {
	switch x := v.(type) {
	case string, bool:
		return x, nil
	case nil:
		return nil, fmt.Errorf("value is empty (want a text, number or true/false)")
	}
	if n, err := number(v); err == nil {
		return n, nil
	}
	return nil, fmt.Errorf("%v is not a text, number or true/false", v)
}

// number converts a YAML number to float64.
func number(v any) (float64, error) {
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("%v is not a finite number", x)
		}
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(x), "_", ""), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	case nil:
		return 0, fmt.Errorf("missing (want a number)")
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

// percent reads "20%", "+20%" or "-5.5%" as a fraction. A bare number is taken
// as a fraction only when allowFraction is set (thresholds: 0.05).
func percent(v any, allowFraction bool) (float64, error) {
	if s, ok := v.(string); ok && strings.HasSuffix(strings.TrimSpace(s), "%") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, fmt.Errorf("%q is not a percentage (want a value such as +20%%)", s)
		}
		return n / 100, nil
	}
	if allowFraction {
		if n, err := number(v); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not a percentage (want a value such as +20%%)", v)
}

func (l *loader) date(path, id, field, s string) (timegrain.Date, bool) {
	if strings.TrimSpace(s) == "" {
		l.addf(path, id, field, "missing (want a date as YYYY-MM-DD)")
		return timegrain.Date{}, false
	}
	d, err := timegrain.ParseDate(s)
	if err != nil {
		l.addf(path, id, field, "%v", err)
		return timegrain.Date{}, false
	}
	return d, true
}

func (l *loader) baseline(path, id string, f *fileBaseline) *Baseline {
	b := &Baseline{}
	if d, ok := l.date(path+".date", id, "baseline.date", f.Date); ok {
		b.Date = d
	}
	if f.Value != nil {
		n, err := number(f.Value)
		if err != nil {
			l.addf(path+".value", id, "baseline.value", "%v", err)
		} else {
			b.Value = &n
		}
	}
	return b
}

func (l *loader) target(path, id string, f *fileTarget, baseline *Baseline) *Target {
	return l.targetFields(path, id, "target", targetFields{f.Value, f.Change, f.By, f.Milestones}, baseline)
}

// targetFields are the fields that a target: and an entry of targets: share.
type targetFields struct {
	value, change any
	by            string
	milestones    []fileMilestone
}

// targetFields converts a target written at path, whose fields errors name
// as field.value, field.by and so on.
func (l *loader) targetFields(path, id, field string, f targetFields, baseline *Baseline) *Target {
	t := &Target{}
	if d, ok := l.date(path+".by", id, field+".by", f.by); ok {
		t.By = d
	}

	switch {
	case f.value != nil && f.change != nil:
		l.addf(path, id, field, "set value or change, not both")
	case f.value != nil:
		n, err := number(f.value)
		if err != nil {
			l.addf(path+".value", id, field+".value", "%v", err)
		} else {
			t.Value = &n
		}
	case f.change != nil:
		c, err := percent(f.change, false)
		if err != nil {
			l.addf(path+".change", id, field+".change", "%v", err)
		} else {
			t.Change = &c
		}
		if baseline == nil {
			l.addf(path+".change", id, field+".change", "a relative target needs a baseline (add baseline: with a date, and a value unless it should come from the data)")
		}
	default:
		l.addf(path, id, field, "missing value or change (want value: 50000 or change: +20%%)")
	}

	if baseline != nil && !baseline.Date.IsZero() && !t.By.IsZero() && t.By.String() <= baseline.Date.String() {
		l.addf(path+".by", id, field+".by", "%s is not after the baseline date %s", t.By, baseline.Date)
	}
	t.Milestones = l.milestones(path+".milestones", id, field+".milestones", f.milestones, t.By, baseline)
	return t
}

func (l *loader) thresholds(path, id string, f *fileThresholds) Thresholds {
	th := DefaultThresholds
	if f.AtRisk != nil {
		v, err := percent(f.AtRisk, true)
		if err != nil || v < 0 {
			l.addf(path+".at_risk", id, "thresholds.at_risk", "%v is not valid (want a shortfall such as 5%%)", f.AtRisk)
		} else {
			th.AtRisk = v
		}
	}
	if f.OffTrack != nil {
		v, err := percent(f.OffTrack, true)
		if err != nil || v < 0 {
			l.addf(path+".off_track", id, "thresholds.off_track", "%v is not valid (want a shortfall such as 15%%)", f.OffTrack)
		} else {
			th.OffTrack = v
		}
	}
	if th.AtRisk > th.OffTrack {
		l.addf(path, id, "thresholds", "at_risk (%g%%) is larger than off_track (%g%%); at_risk must be the smaller shortfall", th.AtRisk*100, th.OffTrack*100)
	}
	return th
}

// checkCycles rejects formulas that depend on themselves. The problem is
// reported at the formula of the metric or KPI where the cycle starts.
func (l *loader) checkCycles(defs *Definitions) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}

	type location struct{ path, kpi, field string }
	formulaAt := make(map[string]location, len(defs.Metrics)+len(defs.KPIs))
	for name := range defs.Metrics {
		formulaAt[name] = location{"$.metrics." + name + ".formula", "", "metrics." + name + ".formula"}
	}
	for i, k := range defs.KPIs {
		formulaAt[k.ID] = location{fmt.Sprintf("$.kpis[%d].metric.formula", i), k.ID, "metric.formula"}
	}

	var visit func(name string, chain []string) bool
	visit = func(name string, chain []string) bool {
		m, ok := defs.ResolveMetric(name)
		if !ok || m.Compiled == nil {
			return true
		}
		switch state[name] {
		case visiting:
			at := formulaAt[name]
			l.addf(at.path, at.kpi, at.field, "formulas refer to each other in a cycle: %s", strings.Join(append(chain, name), " -> "))
			return false
		case done:
			return true
		}
		state[name] = visiting
		for _, dep := range m.Compiled.Names() {
			if !visit(dep, append(chain, name)) {
				return false
			}
		}
		state[name] = done
		return true
	}

	for _, name := range sortedKeys(defs.Metrics) {
		if !visit(name, nil) {
			return
		}
	}
	for _, k := range defs.KPIs {
		if !visit(k.ID, nil) {
			return
		}
	}
}
