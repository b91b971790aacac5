package kpi

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// KPIInput is one KPI written as in a KPI file's kpis: list. The UI and the
// API send KPIs in this shape as JSON, which is also YAML. The database keeps
// the KPIs made in the UI in it too, so every KPI passes through the one
// validation that loading a KPI file runs.
type KPIInput = fileKPI

// MetricInput is a metric written as in a KPI file.
type MetricInput = fileMetric

// TargetInput is a target written as in a KPI file.
type TargetInput = fileTarget

// BaselineInput is a baseline written as in a KPI file.
type BaselineInput = fileBaseline

// ThresholdsInput is a KPI's thresholds written as in a KPI file.
type ThresholdsInput = fileThresholds

// DecodeKPIInput reads one KPI written as JSON or YAML in the KPI file's
// layout. Unknown fields are rejected, as in a KPI file. It returns an
// EINVALID error that names the field and what was expected.
func DecodeKPIInput(data []byte) (*KPIInput, error) {
	var in KPIInput
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if err := dec.Decode(&in); err != nil {
		if strings.Contains(err.Error(), "EOF") {
			return nil, Errorf(EINVALID, "the KPI is empty (send an object with id, name and metric)")
		}
		return nil, Errorf(EINVALID, "%s", decodeMessage(err, data))
	}
	return &in, nil
}

// decodeMessage returns a decoder error without its source excerpt.
func decodeMessage(err error, data []byte) string {
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		return typeMessage(typeErr, data)
	}
	var nodeErr *yaml.UnexpectedNodeTypeError
	if errors.As(err, &nodeErr) {
		return nodeTypeMessage(nodeErr, data)
	}
	var posErr interface {
		GetMessage() string
		GetToken() *token.Token
	}
	if errors.As(err, &posErr) {
		return posErr.GetMessage()
	}
	return err.Error()
}

// EncodeKPIInput returns in as JSON with the KPI file's field names.
func EncodeKPIInput(in *KPIInput) ([]byte, error) {
	data, err := yaml.MarshalWithOptions(in, yaml.JSON())
	if err != nil {
		return nil, fmt.Errorf("encode KPI %q as JSON: %w", in.ID, err)
	}
	return data, nil
}

// HasErrors reports whether any finding is an error, which stops a KPI from
// being saved or loaded.
func HasErrors(findings []Finding) bool {
	return slices.ContainsFunc(findings, func(f Finding) bool { return f.Severity == SeverityError })
}

// CheckKPI validates in as one more KPI of d, with the checks that loading a
// KPI file runs, then lints it as northstar check does. replaces is the id of
// the KPI of d that in replaces when it is edited, or "" when in is new. It
// returns the KPI and the findings, errors first. The KPI may be saved only
// when no finding is an error.
func (d *Definitions) CheckKPI(in *KPIInput, replaces string, now time.Time) (*KPI, []Finding) {
	names := make(map[string]bool, len(d.Metrics)+len(d.KPIs))
	for name := range d.Metrics {
		names[name] = true
	}
	others := make([]*KPI, 0, len(d.KPIs)+1)
	for _, k := range d.KPIs {
		if k.ID == replaces {
			continue
		}
		names[k.ID] = true
		others = append(others, k)
	}
	objectives := make(map[string]bool, len(d.Objectives))
	for _, o := range d.Objectives {
		objectives[o.ID] = true
	}

	l := &loader{}
	l.kpiID("$", "id", in.ID, names)
	k := l.kpi("$", in, objectives, names)
	k.ManagedBy = ManagedByUI
	merged := *d
	merged.KPIs = append(others, k)
	l.checkCycles(&merged)

	findings := make([]Finding, 0, len(l.problems))
	for _, p := range l.problems {
		findings = append(findings, Finding{Severity: SeverityError, KPI: p.kpi, Field: p.field, Message: p.msg})
	}
	if len(findings) > 0 {
		return k, findings
	}
	return k, append(findings, lintKPI(&merged, k, now)...)
}

// lintKPI returns the findings northstar check reports for k, one of the
// KPIs of defs: its own warnings, unit mismatches in its formula, and a
// warning when its objective now has too many KPIs.
func lintKPI(defs *Definitions, k *KPI, now time.Time) []Finding {
	loc := defs.Workspace.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := &linter{
		defs:  defs,
		today: timegrain.DateOf(now.In(loc)),
		line:  func(string) int { return 0 },
		units: make(map[string]unit, len(defs.KPIs)),
	}
	for _, other := range defs.KPIs {
		lt.units[other.ID] = namedUnit(other.Unit)
	}
	lt.kpi("$", k)

	lt.objectiveSizes(DefaultMaxKPIsPerObjective)
	out := make([]Finding, 0, len(lt.findings))
	for _, f := range lt.findings {
		if strings.HasPrefix(f.Field, "objectives[") {
			if !strings.Contains(f.Message, fmt.Sprintf("objective %q ", k.Objective)) {
				continue
			}
			f.Field = "objective"
			f.KPI = k.ID
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return strings.Compare(string(a.Severity), string(b.Severity)) })
	return out
}

// Dependents returns the ids of the metrics and KPIs of d whose formulas use
// the metric or KPI named id.
func (d *Definitions) Dependents(id string) []string {
	var out []string
	for _, name := range sortedKeys(d.Metrics) {
		if c := d.Metrics[name].Compiled; c != nil && slices.Contains(c.Names(), id) {
			out = append(out, name)
		}
	}
	for _, k := range d.KPIs {
		if c := k.Metric.Compiled; c != nil && k.ID != id && slices.Contains(c.Names(), id) {
			out = append(out, k.ID)
		}
	}
	return out
}

// WithKPIs returns a copy of d with the KPIs made in the UI added, given as
// their stored JSON definitions. Each is checked as CheckKPI does, against d
// and the others; a formula may use a stored KPI listed after it. A stored
// KPI that no longer fits, such as one whose id the KPI file now uses or
// whose objective the file no longer defines, is left out, and the returned
// error lists why.
func (d *Definitions) WithKPIs(definitions [][]byte, now time.Time) (*Definitions, error) {
	merged := *d
	merged.KPIs = slices.Clone(d.KPIs)

	var errs []error
	pending := make([]*KPIInput, 0, len(definitions))
	for _, data := range definitions {
		in, err := DecodeKPIInput(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("a KPI stored in the database does not decode: %w", err))
			continue
		}
		pending = append(pending, in)
	}

	// Add the KPIs that check, again and again, until a round adds none:
	// each round can resolve the formulas that use the KPIs added in the last.
	var failed []Finding
	for len(pending) > 0 {
		var next []*KPIInput
		failed = failed[:0]
		for _, in := range pending {
			k, findings := merged.CheckKPI(in, "", now)
			if HasErrors(findings) {
				next = append(next, in)
				failed = append(failed, findings[0])
				continue
			}
			merged.KPIs = append(merged.KPIs, k)
		}
		if len(next) == len(pending) {
			break
		}
		pending = next
	}
	for i, in := range pending {
		if i < len(failed) {
			errs = append(errs, fmt.Errorf("KPI %q stored in the database is left out: %s", in.ID, failed[i].fieldMessage()))
		}
	}
	return &merged, errors.Join(errs...)
}

// fieldMessage returns "FIELD: message", or only the message without a field.
func (f Finding) fieldMessage() string {
	if f.Field == "" {
		return f.Message
	}
	return f.Field + ": " + f.Message
}
