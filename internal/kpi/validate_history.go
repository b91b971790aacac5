package kpi

import (
	"fmt"
	"strings"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// milestones converts a target's milestones: each needs a value and a date
// after the baseline and before the target's by date, and the dates must
// increase.
func (l *loader) milestones(path, id, field string, list []fileMilestone, by timegrain.Date, baseline *Baseline) []Milestone {
	out := make([]Milestone, 0, len(list))
	previous := ""
	for i, f := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		name := fmt.Sprintf("%s[%d]", field, i)

		m := Milestone{}
		d, dateOK := l.date(p+".by", id, name+".by", f.By)
		m.By = d
		n, err := number(f.Value)
		if err != nil {
			l.addf(p+".value", id, name+".value", "%v", err)
		}
		m.Value = n
		if !dateOK {
			continue
		}

		switch {
		case !by.IsZero() && d.String() >= by.String():
			l.addf(p+".by", id, name+".by", "%s is not before the target date %s (a milestone is a step on the way to the target)", d, by)
		case baseline != nil && !baseline.Date.IsZero() && d.String() <= baseline.Date.String():
			l.addf(p+".by", id, name+".by", "%s is not after the baseline date %s", d, baseline.Date)
		case previous != "" && d.String() <= previous:
			l.addf(p+".by", id, name+".by", "%s is not after the milestone before it (%s); list milestones in date order", d, previous)
		}
		previous = d.String()
		out = append(out, m)
	}
	return out
}

// revisions converts a KPI's targets: list, the revisions of its target:.
func (l *loader) revisions(path, id string, list []fileRevision, k *KPI) []TargetRevision {
	if len(list) == 0 {
		return nil
	}
	if k.Target == nil {
		l.addf(path, id, "targets", "revisions need a first target (add target: with the target in force before the first revision)")
	}

	out := make([]TargetRevision, 0, len(list))
	previous := ""
	for i, f := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		field := fmt.Sprintf("targets[%d]", i)

		t := l.targetFields(p, id, field, targetFields{f.Value, f.Change, f.By, f.Milestones}, k.Baseline)
		rev := TargetRevision{KPI: id, Target: *t, Author: strings.TrimSpace(f.Author), Reason: strings.TrimSpace(f.Reason), Source: SourceFile}
		if d, ok := l.date(p+".applies_from", id, field+".applies_from", f.AppliesFrom); ok {
			rev.AppliesFrom = d
			if previous != "" && d.String() < previous {
				l.addf(p+".applies_from", id, field+".applies_from", "%s is before the revision above it (%s); list revisions in the order they apply", d, previous)
			}
			previous = d.String()
		}
		if rev.Reason == "" {
			l.addf(p, id, field+".reason", "missing (say why the target changed, so the history explains itself)")
		}
		out = append(out, rev)
	}
	return out
}

// benchmarks converts a KPI's benchmarks: list.
func (l *loader) benchmarks(path, id string, list []fileBenchmark, hasBaseline bool) []Benchmark {
	out := make([]Benchmark, 0, len(list))
	seen := map[BenchmarkKind]bool{}
	for i, f := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		field := fmt.Sprintf("benchmarks[%d]", i)

		b := Benchmark{Kind: BenchmarkKind(strings.TrimSpace(f.Kind)), Name: strings.TrimSpace(f.Name)}
		switch b.Kind {
		case IndustryBenchmark:
			n, err := number(f.Value)
			if err != nil {
				l.addf(p+".value", id, field+".value", "%v (an industry benchmark is a constant figure)", err)
			}
			b.Value = n
		case LastYearBenchmark, BaselineBenchmark:
			if f.Value != nil {
				l.addf(p+".value", id, field+".value", "a %s benchmark takes no value: it comes from the KPI's data (remove value:)", b.Kind)
			}
			if seen[b.Kind] {
				l.addf(p+".kind", id, field+".kind", "%s is listed twice", b.Kind)
			}
		case "":
			l.addf(p, id, field+".kind", "missing (want industry, last_year or baseline)")
			continue
		default:
			l.addf(p+".kind", id, field+".kind", "%q is not valid (want industry, last_year or baseline)", f.Kind)
			continue
		}
		if b.Kind == BaselineBenchmark && !hasBaseline {
			l.addf(p+".kind", id, field+".kind", "a baseline benchmark needs a baseline (add baseline: with a date)")
		}
		seen[b.Kind] = true
		if b.Name == "" {
			b.Name = b.Kind.DefaultName()
		}
		out = append(out, b)
	}
	return out
}
