package kpi

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// templateHeader turns a template into a minimal KPI file.
const templateHeader = "workspace:\n  name: Template test\n"

// templateKinds is the metric kind each template's KPI should have, written
// down from the definitions the catalogue promises.
var templateKinds = map[string]MetricKind{
	"cac":               Formula,
	"nps":               NPS,
	"dau":               ActiveUsers,
	"wau":               ActiveUsers,
	"mau":               ActiveUsers,
	"stickiness":        Stickiness,
	"d1_retention":      Retention,
	"d7_retention":      Retention,
	"d30_retention":     Retention,
	"monthly_retention": Retention,
	"churn":             Churn,
	"conversion_funnel": Funnel,
	"activation_rate":   Funnel,
	"mrr":               MRR,
	"arpu":              Formula,
	"ltv":               Formula,
	"aov":               Formula,
}

func TestTemplatesParse(t *testing.T) {
	templates := Templates()
	if len(templates) != len(templateKinds) {
		t.Errorf("%d templates, want %d", len(templates), len(templateKinds))
	}

	for _, tpl := range templates {
		t.Run(tpl.Name, func(t *testing.T) {
			if !strings.HasPrefix(tpl.YAML, "# ") {
				t.Errorf("template does not start with a comment saying what it measures:\n%s", tpl.YAML)
			}
			if tpl.Description == "" {
				t.Error("template has no description")
			}

			defs, err := Parse(tpl.Name+".yaml", []byte(templateHeader+tpl.YAML))
			if err != nil {
				t.Fatalf("template does not load: %v", err)
			}
			if len(defs.KPIs) != 1 {
				t.Fatalf("template defines %d KPIs, want 1", len(defs.KPIs))
			}
			k := defs.KPIs[0]
			if k.ID != tpl.Name {
				t.Errorf("KPI id %q, want the template's name %q", k.ID, tpl.Name)
			}
			if want := templateKinds[tpl.Name]; k.Metric.Kind != want {
				t.Errorf("metric kind %s, want %s", k.Metric.Kind, want)
			}
		})
	}
}

func TestTemplatesRetentionOffsets(t *testing.T) {
	for name, want := range map[string]struct {
		offset int
		mode   RetentionMode
	}{
		"d1_retention":      {1, RollingRetention},
		"d7_retention":      {7, RollingRetention},
		"d30_retention":     {30, RollingRetention},
		"monthly_retention": {1, CalendarRetention},
	} {
		tpl, err := TemplateByName(name)
		if err != nil {
			t.Fatal(err)
		}
		defs, err := Parse(name+".yaml", []byte(templateHeader+tpl.YAML))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := defs.KPIs[0].Metric
		if m.Offset != want.offset || m.Mode != want.mode {
			t.Errorf("%s: offset %d mode %s, want %d %s", name, m.Offset, m.Mode, want.offset, want.mode)
		}
	}
}

func TestTemplateFilesMatchCatalogue(t *testing.T) {
	files, err := fs.Glob(templateFiles, "templates/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, tpl := range Templates() {
		listed["templates/"+tpl.Name+".yaml"] = true
	}
	for _, f := range files {
		if !listed[f] {
			t.Errorf("%s is not in the catalogue", f)
		}
	}
	if len(files) != len(listed) {
		t.Errorf("%d template files for %d catalogue entries", len(files), len(listed))
	}
}

// TestTemplatesCombine pastes every template into one file: metrics that
// two templates share must be defined alike, and the file must load.
func TestTemplatesCombine(t *testing.T) {
	type fragment struct {
		Metrics map[string]any `yaml:"metrics"`
		KPIs    []any          `yaml:"kpis"`
	}
	combined := fragment{Metrics: map[string]any{}}
	for _, tpl := range Templates() {
		var f fragment
		if err := yaml.Unmarshal([]byte(tpl.YAML), &f); err != nil {
			t.Fatalf("%s: %v", tpl.Name, err)
		}
		for name, m := range f.Metrics {
			if prev, ok := combined.Metrics[name]; ok && !reflect.DeepEqual(prev, m) {
				t.Errorf("%s: metric %s differs from another template's: %v and %v", tpl.Name, name, m, prev)
			}
			combined.Metrics[name] = m
		}
		combined.KPIs = append(combined.KPIs, f.KPIs...)
	}

	data, err := yaml.Marshal(combined)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Parse("all-templates.yaml", append([]byte(templateHeader), data...))
	if err != nil {
		t.Fatalf("the templates do not load together: %v\n%s", err, data)
	}
	if len(defs.KPIs) != len(templateKinds) {
		t.Errorf("combined file has %d KPIs, want %d", len(defs.KPIs), len(templateKinds))
	}
}

func TestTemplateByNameUnknown(t *testing.T) {
	_, err := TemplateByName("dua")
	if ErrorCode(err) != ENOTFOUND {
		t.Fatalf("error %v, want code %s", err, ENOTFOUND)
	}
	if !strings.Contains(err.Error(), `no KPI template named "dua"`) || !strings.Contains(err.Error(), "dau") {
		t.Errorf("error %q, want it to name the template and list the known ones", err)
	}
}
