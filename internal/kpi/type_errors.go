package kpi

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// expectedByField describes the expected value of fields whose Go type is not
// specific enough, by their path in a KPI entry.
var expectedByField = map[string]string{
	"metric.window": "a whole number of days, e.g. 30",
}

// kpiEntryPrefix matches the start of a path inside a KPI file's kpis: list,
// which a finding names by the KPI instead.
var kpiEntryPrefix = regexp.MustCompile(`^kpis\[\d+\]\.`)

// typeMessage rewords a decoder type error without Go type names. It names
// the field by its path in the KPI entry (such as metric.window), found by
// the position of the offending value in data.
func typeMessage(e *yaml.TypeError, data []byte) string {
	field := ""
	if e.Token != nil {
		field = kpiEntryPrefix.ReplaceAllString(fieldPath(data, e.Token.Position.Offset), "")
	}
	if field == "" && e.StructFieldName != nil {
		name := *e.StructFieldName
		field = strings.ToLower(name[strings.LastIndex(name, ".")+1:])
	}
	if field == "" {
		field = "value"
	}

	want, ok := expectedByField[field]
	if !ok {
		want = expectedKind(e.DstType)
	}
	found := "a " + kindName(e.SrcType)
	if e.Token != nil && e.SrcType != nil && e.SrcType.Kind() == reflect.String {
		found = fmt.Sprintf("the text %q", e.Token.Value)
	}
	return fmt.Sprintf("%s: found %s, expected %s", field, found, want)
}

// nodeTypeMessage rewords a decoder error about a value of the wrong YAML
// node type (such as text where a mapping belongs) like typeMessage does.
func nodeTypeMessage(e *yaml.UnexpectedNodeTypeError, data []byte) string {
	field := "value"
	if e.Token != nil {
		if p := kpiEntryPrefix.ReplaceAllString(fieldPath(data, e.Token.Position.Offset), ""); p != "" {
			field = p
		}
	}
	found := "a " + e.Actual.YAMLName()
	if e.Actual == ast.StringType && e.Token != nil {
		found = fmt.Sprintf("the text %q", e.Token.Value)
	}
	want := "a " + e.Expected.YAMLName()
	switch e.Expected {
	case ast.MappingType:
		want = "a mapping of field: value"
	case ast.SequenceType:
		want = "a list"
	case ast.StringType:
		want = "text"
	}
	return fmt.Sprintf("%s: found %s, expected %s", field, found, want)
}

// expectedKind names the kind of value a Go type is decoded from.
func expectedKind(t reflect.Type) string {
	if t == nil {
		return "a different kind of value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping of field: value"
	case reflect.Pointer:
		return expectedKind(t.Elem())
	}
	return "a different kind of value"
}

// kindName names the kind of a decoded source value.
func kindName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map:
		return "mapping"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "text"
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		return "number"
	}
	return t.Kind().String()
}

// fieldPath returns the path (such as metric.window or steps[1].event) of
// the innermost value of data that starts at offset, or "" when data does
// not parse or no value starts there.
func fieldPath(data []byte, offset int) string {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return ""
	}
	for _, doc := range file.Docs {
		if path, ok := findPath(doc.Body, offset, ""); ok {
			return path
		}
	}
	return ""
}

func findPath(node ast.Node, offset int, path string) (string, bool) {
	if node == nil {
		return "", false
	}
	switch n := node.(type) {
	case *ast.MappingNode:
		for _, v := range n.Values {
			if p, ok := findPath(v, offset, path); ok {
				return p, true
			}
		}
	case *ast.MappingValueNode:
		key := strings.Trim(n.Key.String(), `"' `)
		child := key
		if path != "" {
			child = path + "." + key
		}
		if p, ok := findPath(n.Value, offset, child); ok {
			return p, true
		}
	case *ast.SequenceNode:
		for i, v := range n.Values {
			if p, ok := findPath(v, offset, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	}
	if tok := node.GetToken(); tok != nil && tok.Position.Offset == offset && path != "" {
		return path, true
	}
	return "", false
}
