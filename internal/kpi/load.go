package kpi

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// idPattern is the form of KPI, metric and objective ids: they appear in
// formulas and URLs, so they are identifiers.
var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadFile reads and validates the KPI file at path.
func LoadFile(path string) (*Definitions, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, Errorf(EINVALID, "KPI file %s not found (pass the path with --kpis)", path)
		}
		return nil, Errorf(EINVALID, "cannot read KPI file %s: %v", path, err)
	}
	return Parse(path, data)
}

// Parse validates the KPI file content data; path names the file in errors.
// Every problem found is reported, one per line, as
// "FILE:LINE: kpi "ID": FIELD: what is wrong (what is expected)".
func Parse(path string, data []byte) (*Definitions, error) {
	defs, problems := parse(path, data)
	if len(problems) > 0 {
		lines := make([]string, 0, len(problems))
		for _, p := range problems {
			lines = append(lines, p.String())
		}
		return nil, Errorf(EINVALID, "%s", strings.Join(lines, "\n"))
	}
	return defs, nil
}

// parse decodes and validates data like Parse, but returns the problems it
// finds as error findings, each with its line, instead of one error.
func parse(path string, data []byte) (*Definitions, []Finding) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, errEOF(err)) {
		return nil, []Finding{decodeFinding(path, data, err)}
	}

	l := &loader{path: path}
	defs := l.convert(&doc)
	if len(l.problems) > 0 {
		return nil, l.findings(data)
	}
	defs.Path = path
	return defs, nil
}

// errEOF treats an empty file like an empty document, which then fails
// validation with "no KPIs" instead of a decoder message.
func errEOF(err error) error {
	if err != nil && strings.Contains(err.Error(), "EOF") {
		return err
	}
	return nil
}

// decodeFinding turns a YAML syntax or type error into a finding with the
// line of the token the decoder stopped at.
func decodeFinding(path string, data []byte, err error) Finding {
	f := Finding{Severity: SeverityError, File: path, Message: err.Error()}
	var posErr interface {
		GetMessage() string
		GetToken() *token.Token
	}
	if !errors.As(err, &posErr) || posErr.GetToken() == nil {
		return f
	}

	f.Line = posErr.GetToken().Position.Line
	f.Message = posErr.GetMessage()
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		f.Message = typeMessage(typeErr, data)
	}
	var nodeErr *yaml.UnexpectedNodeTypeError
	if errors.As(err, &nodeErr) {
		f.Message = nodeTypeMessage(nodeErr, data)
	}
	f.KPI = kpiAtLine(data, f.Line)
	return f
}

// kpiAtLine returns the id of the KPI whose entry contains line, if any.
func kpiAtLine(data []byte, line int) string {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return ""
	}
	id := ""
	for i := 0; ; i++ {
		node := lookup(file, fmt.Sprintf("$.kpis[%d]", i))
		if node == nil || node.GetToken().Position.Line > line {
			return id
		}
		id = fmt.Sprint(i)
		if idNode := lookup(file, fmt.Sprintf("$.kpis[%d].id", i)); idNode != nil {
			id = strings.Trim(idNode.String(), `"' `)
		}
	}
}

func lookup(file *ast.File, path string) ast.Node {
	p, err := yaml.PathString(path)
	if err != nil {
		return nil
	}
	node, err := p.FilterFile(file)
	if err != nil {
		return nil
	}
	return node
}

// problem is one validation failure, located by its YAML path.
type problem struct {
	path  string // YAML path, such as $.kpis[2].target.by
	kpi   string // the KPI's id, if the problem is inside a KPI
	field string // the field as written, such as target.by
	msg   string
}

type loader struct {
	path     string
	problems []problem
}

func (l *loader) addf(path, kpiID, field, format string, args ...any) {
	l.problems = append(l.problems, problem{path: path, kpi: kpiID, field: field, msg: fmt.Sprintf(format, args...)})
}

// findings locates every problem in data and returns it as an error finding.
func (l *loader) findings(data []byte) []Finding {
	file, _ := parser.ParseBytes(data, 0)
	out := make([]Finding, 0, len(l.problems))
	for _, p := range l.problems {
		out = append(out, Finding{
			Severity: SeverityError,
			File:     l.path,
			Line:     lineOf(file, p.path),
			KPI:      p.kpi,
			Field:    p.field,
			Message:  p.msg,
		})
	}
	return out
}

// lineOf returns the line of the YAML path in file, such as
// $.kpis[2].target.by. When the field is absent it returns the line of its
// nearest parent that exists, and 0 when file is nil or no part of the path
// exists.
func lineOf(file *ast.File, path string) int {
	if file == nil {
		return 0
	}
	for ; path != "$" && path != ""; path = parentPath(path) {
		if node := lookup(file, path); node != nil {
			return keyLine(file, node)
		}
	}
	return 0
}

// keyLine returns the line of the key that node is the value of, or node's
// own line when it is no mapping value. A block mapping's own line is that of
// its first entry, one below the key that a missing field belongs under.
func keyLine(file *ast.File, node ast.Node) int {
	for _, doc := range file.Docs {
		if mv, ok := ast.Parent(doc.Body, node).(*ast.MappingValueNode); ok && mv.Value == node {
			return mv.Key.GetToken().Position.Line
		}
	}
	return node.GetToken().Position.Line
}

func parentPath(path string) string {
	i := max(strings.LastIndex(path, "."), strings.LastIndex(path, "["))
	if i <= 0 {
		return "$"
	}
	return path[:i]
}

func (l *loader) convert(doc *fileDoc) *Definitions {
	defs := &Definitions{Metrics: map[string]Metric{}}
	defs.Workspace = l.workspace(doc.Workspace)

	objectives := map[string]bool{}
	for i, o := range doc.Objectives {
		path := fmt.Sprintf("$.objectives[%d]", i)
		switch {
		case !idPattern.MatchString(o.ID):
			l.addf(path+".id", "", fmt.Sprintf("objectives[%d].id", i), "%q is not a valid id (want lower-case letters, digits and _, starting with a letter)", o.ID)
		case objectives[o.ID]:
			l.addf(path+".id", "", fmt.Sprintf("objectives[%d].id", i), "objective %q is defined twice", o.ID)
		}
		if strings.TrimSpace(o.Name) == "" {
			l.addf(path, "", fmt.Sprintf("objectives[%d].name", i), "missing (give the objective a name)")
		}
		objectives[o.ID] = true
		defs.Objectives = append(defs.Objectives, Objective{ID: o.ID, Name: o.Name, Description: o.Description})
	}

	// Names first, so that formulas can refer to metrics and KPIs defined later.
	names := map[string]bool{}
	metricNames := sortedKeys(doc.Metrics)
	for _, name := range metricNames {
		if !idPattern.MatchString(name) {
			l.addf("$.metrics."+name, "", "metrics."+name, "%q is not a valid metric name (want lower-case letters, digits and _, starting with a letter)", name)
		}
		names[name] = true
	}
	for i, k := range doc.KPIs {
		l.kpiID(fmt.Sprintf("$.kpis[%d]", i), fmt.Sprintf("kpis[%d].id", i), k.ID, names)
	}

	for _, name := range metricNames {
		m := doc.Metrics[name]
		defs.Metrics[name] = l.metric("$.metrics."+name, "", "metrics."+name, &m, names)
	}
	if len(doc.KPIs) == 0 {
		l.addf("$", "", "kpis", "no KPIs defined (add a kpis: list with at least one KPI)")
	}
	for i := range doc.KPIs {
		defs.KPIs = append(defs.KPIs, l.kpi(fmt.Sprintf("$.kpis[%d]", i), &doc.KPIs[i], objectives, names))
	}

	defs.Dimensions = l.dimensions(doc.Dimensions)
	l.checkCycles(defs)
	return defs
}

// dimensions checks the top-level dimensions: list, which names event
// properties for the activity index to keep per value.
func (l *loader) dimensions(raw any) []string {
	if raw == nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		l.addf("$.dimensions", "", "dimensions", "must be a list of event property names, such as [plan, country], not %s", describeYAML(raw))
		return nil
	}
	var out []string
	for i, v := range list {
		path, field := fmt.Sprintf("$.dimensions[%d]", i), fmt.Sprintf("dimensions[%d]", i)
		name, ok := v.(string)
		switch {
		case !ok:
			l.addf(path, "", field, "must be an event property name, not %s", describeYAML(v))
		case strings.TrimSpace(name) == "":
			l.addf(path, "", field, "%q is an empty name (want an event property name, such as plan)", name)
		case strings.TrimSpace(name) != name:
			l.addf(path, "", field, "%q is not a property name (want a name without leading or trailing spaces, such as plan)", name)
		case strings.Contains(name, `"`):
			l.addf(path, "", field, "%q contains a double quote, which property names may not", name)
		case slices.Contains(out, name):
			l.addf(path, "", field, "%q is listed twice (list each dimension once)", name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// describeYAML names the YAML type of a decoded value, for error messages.
func describeYAML(v any) string {
	switch v := v.(type) {
	case nil:
		return "an empty value"
	case string:
		return fmt.Sprintf("the text %q", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("the number %v", v)
}

// kpiID checks a KPI's id at the YAML path of its KPI and adds it to names.
// missingField names the field when the id is missing.
func (l *loader) kpiID(path, missingField, id string, names map[string]bool) {
	switch {
	case id == "":
		l.addf(path, "", missingField, "missing (every KPI needs an id such as weekly_active_users)")
	case !idPattern.MatchString(id):
		l.addf(path+".id", id, "id", "%q is not a valid id (want lower-case letters, digits and _, starting with a letter)", id)
	case names[id]:
		l.addf(path+".id", id, "id", "%q is already used by another KPI or metric", id)
	}
	names[id] = true
}

func (l *loader) workspace(w fileWorkspace) Workspace {
	ws := Workspace{Name: w.Name, Location: time.UTC, WeekStart: time.Monday}
	if w.TimeZone != "" {
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil {
			l.addf("$.workspace.time_zone", "", "workspace.time_zone", "%q is not a known time zone (want an IANA name such as Europe/Berlin or America/New_York)", w.TimeZone)
		} else {
			ws.Location = loc
		}
	}
	if w.WeekStart != "" {
		d, err := timegrain.ParseWeekday(w.WeekStart)
		if err != nil {
			l.addf("$.workspace.week_start", "", "workspace.week_start", "%v", err)
		} else {
			ws.WeekStart = d
		}
	}
	return ws
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// knownNames returns the names a formula may use, for error messages.
func knownNames(names map[string]bool) string {
	list := sortedKeys(names)
	if len(list) > 12 {
		list = append(list[:12], "…")
	}
	return strings.Join(list, ", ")
}
