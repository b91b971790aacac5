package kpi

import (
	"embed"
	"strings"
)

// templateFiles holds one YAML fragment per template: the named metrics it
// needs under metrics: and one KPI under kpis:, with comments saying what to
// rename.
//
//go:embed templates/*.yaml
var templateFiles embed.FS

// Template is a ready KPI definition from the catalogue of common product
// KPIs, as YAML to paste into a KPI file.
type Template struct {
	Name        string // the id of the KPI it defines
	Description string // one line
	YAML        string
}

// templateCatalogue lists the templates in the order they are shown. Each
// name has a file templates/NAME.yaml.
var templateCatalogue = []struct{ name, description string }{
	{"cac", "Customer acquisition cost: acquisition spend / new customers"},
	{"nps", "Net Promoter Score: % promoters (9-10) - % detractors (0-6)"},
	{"dau", "Daily active users"},
	{"wau", "Weekly active users: distinct users in the 7 days ending with the period"},
	{"mau", "Monthly active users: distinct users in the 30 days ending with the period"},
	{"stickiness", "Stickiness: mean daily active users / users active in the period (DAU/MAU)"},
	{"d1_retention", "Day-1 retention of each day's new users, in 24-hour periods"},
	{"d7_retention", "Day-7 retention of each day's new users, in 24-hour periods"},
	{"d30_retention", "Day-30 retention of each day's new users, in 24-hour periods"},
	{"monthly_retention", "Monthly cohort retention: share of a month's new users active the next month"},
	{"churn", "Churn rate: users active last period and not this one / active last period"},
	{"conversion_funnel", "Conversion through ordered funnel steps within a window of days"},
	{"activation_rate", "Activation rate: share of new users who do a key action within 7 days"},
	{"mrr", "Monthly recurring revenue from subscription start and cancel events"},
	{"arpu", "Average revenue per user: revenue / paying customers"},
	{"ltv", "Customer lifetime value: ARPU / churn rate (the simple formula)"},
	{"aov", "Average order value: order revenue / orders"},
}

// Templates returns the catalogue of KPI templates in display order.
func Templates() []Template {
	out := make([]Template, 0, len(templateCatalogue))
	for _, t := range templateCatalogue {
		out = append(out, Template{Name: t.name, Description: t.description, YAML: templateYAML(t.name)})
	}
	return out
}

// TemplateByName returns the template called name, or ENOTFOUND listing the
// names there are.
func TemplateByName(name string) (Template, error) {
	names := make([]string, 0, len(templateCatalogue))
	for _, t := range templateCatalogue {
		if t.name == name {
			return Template{Name: t.name, Description: t.description, YAML: templateYAML(t.name)}, nil
		}
		names = append(names, t.name)
	}
	return Template{}, Errorf(ENOTFOUND, "no KPI template named %q (templates: %s)", name, strings.Join(names, ", "))
}

// templateYAML returns the embedded file of a catalogue entry. A missing
// file is a build defect, which the package's tests catch.
func templateYAML(name string) string {
	data, err := templateFiles.ReadFile("templates/" + name + ".yaml")
	if err != nil {
		panic("kpi: KPI template file missing: " + err.Error())
	}
	return string(data)
}
