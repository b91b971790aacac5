package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func (s *Server) registerKPIFormRoutes() {
	s.register("GET /kpis/new", AccessEditor, s.handle(s.handleKPINewPage))
	s.register("POST /kpis/new", AccessEditor, s.handle(s.handleKPINewForm))
	s.register("GET /kpis/{id}/edit", AccessEditor, s.handle(s.handleKPIEditPage))
	s.register("POST /kpis/{id}/edit", AccessEditor, s.handle(s.handleKPIEditForm))
	s.register("POST /kpis/{id}/delete", AccessEditor, s.handle(s.handleKPIDeleteForm))
	s.register("POST /kpis/{id}/annotations", AccessEditor, s.handle(s.handleAnnotationForm))
	s.register("POST /kpis/{id}/annotations/{aid}/delete", AccessEditor, s.handle(s.handleAnnotationDeleteForm))
	s.register("POST /kpis/{id}/feedback", AccessEditor, s.handle(s.handleFeedbackForm))
}

// kpiFormPage is the data of templates/kpi_form.html.
type kpiFormPage struct {
	pageBase
	Editing      bool   // editing an existing KPI, whose id is fixed
	Action       string // the URL the form posts to
	DeleteAction string
	Cancel       string
	Values       kpiFormValues

	Objectives  []option
	Directions  []option
	Grains      []option
	MetricKinds []option

	ReviewCadences []option

	// Errors and Warnings hold the findings by form field; Other holds those
	// about fields the form does not show.
	Errors   map[string][]string
	Warnings map[string][]string
	Other    []string
}

type option struct {
	Value    string
	Label    string
	Selected bool
}

// kpiFormValues holds the form's fields as text, named as in the form.
type kpiFormValues struct {
	ID, Name, Description, Objective, Owner, Unit, Direction, Grain string
	MetricKind, MetricEvent, MetricProperty, MetricFormula          string
	MetricWindow                                                    string
	TargetValue, TargetChange, TargetBy                             string
	BaselineValue, BaselineDate                                     string
	Review                                                          string // review cadence, "" for none
}

// formMetricKinds are the metric kinds the form offers. Kinds with more
// settings, such as funnels, retention and subscriptions, are made through
// the API. The form keeps their settings when it edits such a KPI.
var formMetricKinds = []kpi.MetricKind{kpi.Count, kpi.UniqueUsers, kpi.Sum, kpi.Average, kpi.ActiveUsers, kpi.Stickiness, kpi.NewUsers, kpi.Churn, kpi.Formula}

func (s *Server) handleKPINewPage(w http.ResponseWriter, r *http.Request) error {
	values := kpiFormValues{Direction: string(kpi.Up), Grain: string(timegrain.Month), MetricKind: string(kpi.Count)}
	return s.renderKPIForm(w, r, http.StatusOK, "", values, nil)
}

func (s *Server) handleKPINewForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	values := readKPIForm(r)
	in, problems := values.input(nil)
	if len(problems) > 0 {
		return s.renderKPIForm(w, r, http.StatusBadRequest, "", values, problems)
	}

	k, _, err := s.saveKPI(r.Context(), in, "")
	if err != nil {
		return s.kpiFormError(w, r, "", values, err)
	}
	http.Redirect(w, r, "/kpis/"+url.PathEscape(k.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) handleKPIEditPage(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.editableKPI(r.Context(), id); err != nil {
		return err
	}
	in := s.inRequest(r).catalog.input(id)
	if in == nil {
		return kpi.Errorf(kpi.ENOTFOUND, "KPI %q not found", id)
	}

	_, findings := s.currentDefinitions(r).CheckKPI(in, id, s.now())
	return s.renderKPIForm(w, r, http.StatusOK, id, formValuesOf(in), findings)
}

func (s *Server) handleKPIEditForm(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.editableKPI(r.Context(), id); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	values := readKPIForm(r)
	values.ID = id
	in, problems := values.input(s.inRequest(r).catalog.input(id))
	if len(problems) > 0 {
		return s.renderKPIForm(w, r, http.StatusBadRequest, id, values, problems)
	}

	if _, _, err := s.saveKPI(r.Context(), in, id); err != nil {
		return s.kpiFormError(w, r, id, values, err)
	}
	http.Redirect(w, r, "/kpis/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

func (s *Server) handleKPIDeleteForm(w http.ResponseWriter, r *http.Request) error {
	if err := s.deleteKPI(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// kpiFormError re-renders the form with the findings of a KPI that did not
// validate, or with a conflict next to the id. Other errors are returned.
func (s *Server) kpiFormError(w http.ResponseWriter, r *http.Request, editing string, values kpiFormValues, err error) error {
	var invalid *kpiInvalidError
	switch {
	case errors.As(err, &invalid):
		return s.renderKPIForm(w, r, http.StatusBadRequest, editing, values, invalid.findings)
	case kpi.ErrorCode(err) == kpi.ECONFLICT && editing == "":
		msg := strings.TrimPrefix(kpi.ErrorMessage(err), "id: ")
		return s.renderKPIForm(w, r, http.StatusConflict, editing, values, []kpi.Finding{{Severity: kpi.SeverityError, Field: "id", Message: msg}})
	}
	return err
}

func (s *Server) renderKPIForm(w http.ResponseWriter, r *http.Request, status int, editing string, values kpiFormValues, findings []kpi.Finding) error {
	defs := s.currentDefinitions(r)
	page := kpiFormPage{
		pageBase: s.newPageBase(r, "New KPI"),
		Action:   "/kpis/new",
		Cancel:   "/",
		Values:   values,
		Errors:   map[string][]string{},
		Warnings: map[string][]string{},
	}
	if editing != "" {
		page.Title = "Edit " + values.Name
		page.Editing = true
		page.Action = "/kpis/" + url.PathEscape(editing) + "/edit"
		page.DeleteAction = "/kpis/" + url.PathEscape(editing) + "/delete"
		page.Cancel = "/kpis/" + url.PathEscape(editing)
	}

	page.Objectives = append(page.Objectives, option{Value: "", Label: "(none)", Selected: values.Objective == ""})
	for _, o := range defs.Objectives {
		page.Objectives = append(page.Objectives, option{Value: o.ID, Label: o.Name, Selected: o.ID == values.Objective})
	}
	for _, d := range []kpi.Direction{kpi.Up, kpi.Down} {
		page.Directions = append(page.Directions, option{Value: string(d), Label: directionText(d), Selected: string(d) == values.Direction})
	}
	for _, g := range timegrain.Grains {
		page.Grains = append(page.Grains, option{Value: string(g), Label: string(g), Selected: string(g) == values.Grain})
	}
	for _, c := range []kpi.Cadence{kpi.NoCadence, kpi.Weekly, kpi.Monthly, kpi.Quarterly} {
		label := string(c)
		if c == kpi.NoCadence {
			label = "(none)"
		}
		page.ReviewCadences = append(page.ReviewCadences, option{Value: string(c), Label: label, Selected: string(c) == values.Review})
	}
	kinds := formMetricKinds
	if values.MetricKind != "" && !containsKind(kinds, kpi.MetricKind(values.MetricKind)) {
		kinds = append(append([]kpi.MetricKind{}, kinds...), kpi.MetricKind(values.MetricKind))
	}
	for _, k := range kinds {
		page.MetricKinds = append(page.MetricKinds, option{Value: string(k), Label: strings.ReplaceAll(string(k), "_", " "), Selected: string(k) == values.MetricKind})
	}

	for _, f := range findings {
		field := formField(f.Field)
		target := page.Errors
		if f.Severity == kpi.SeverityWarning {
			target = page.Warnings
		}
		if field == "" {
			page.Other = append(page.Other, findingText(f))
			continue
		}
		target[field] = append(target[field], f.Message)
	}
	return s.renderPage(w, r, status, "kpi_form", page)
}

func containsKind(list []kpi.MetricKind, k kpi.MetricKind) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

// formFields maps a finding's field, as the KPI file names it, to the form
// field that shows it.
var formFields = map[string]string{
	"id": "id", "name": "name", "description": "description", "objective": "objective",
	"owner": "owner", "unit": "unit", "direction": "direction", "grain": "grain",
	"metric": "metric_kind", "metric.kind": "metric_kind", "metric.event": "metric_event",
	"metric.property": "metric_property", "metric.formula": "metric_formula", "metric.window": "metric_window",
	"metric.period": "grain",
	"target":        "target_value", "target.value": "target_value", "target.change": "target_change", "target.by": "target_by",
	"baseline": "baseline_date", "baseline.value": "baseline_value", "baseline.date": "baseline_date",
	"review": "review",
}

func formField(field string) string { return formFields[field] }

func readKPIForm(r *http.Request) kpiFormValues {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	return kpiFormValues{
		ID: v("id"), Name: v("name"), Description: v("description"), Objective: v("objective"),
		Owner: v("owner"), Unit: v("unit"), Direction: v("direction"), Grain: v("grain"),
		MetricKind: v("metric_kind"), MetricEvent: v("metric_event"), MetricProperty: v("metric_property"),
		MetricFormula: v("metric_formula"), MetricWindow: v("metric_window"),
		TargetValue: v("target_value"), TargetChange: v("target_change"), TargetBy: v("target_by"),
		BaselineValue: v("baseline_value"), BaselineDate: v("baseline_date"),
		Review: v("review"),
	}
}

// input returns the KPI the form describes. Starting from stored, the KPI's
// definition before the edit, it keeps the metric settings that the form
// does not show when the metric kind is unchanged. Values stay text, so that
// CheckKPI judges them as it judges a KPI file. Only the window is converted
// here, because the file's layout types it as a whole number.
func (v kpiFormValues) input(stored *kpi.KPIInput) (*kpi.KPIInput, []kpi.Finding) {
	in := &kpi.KPIInput{}
	if stored != nil {
		copied := *stored
		in = &copied
	}
	in.ID, in.Name, in.Description, in.Objective = v.ID, v.Name, v.Description, v.Objective
	in.Owner, in.Unit, in.Direction, in.Grain = v.Owner, v.Unit, v.Direction, v.Grain
	in.Review = v.Review

	metric := &kpi.MetricInput{}
	if in.Metric != nil && in.Metric.Kind == v.MetricKind {
		copied := *in.Metric
		metric = &copied
	}
	metric.Kind, metric.Event, metric.Property, metric.Formula = v.MetricKind, v.MetricEvent, v.MetricProperty, v.MetricFormula
	metric.Window = 0
	in.Metric = metric

	var problems []kpi.Finding
	if v.MetricWindow != "" {
		n, err := strconv.Atoi(v.MetricWindow)
		if err != nil {
			problems = append(problems, kpi.Finding{Severity: kpi.SeverityError, Field: "metric.window",
				Message: strconv.Quote(v.MetricWindow) + " is not a whole number of days (want a number such as 7 or 28)"})
		}
		metric.Window = n
	}

	in.Target = nil
	if v.TargetValue != "" || v.TargetChange != "" || v.TargetBy != "" {
		in.Target = &kpi.TargetInput{By: v.TargetBy, Value: textOrNil(v.TargetValue), Change: textOrNil(v.TargetChange)}
	}
	in.Baseline = nil
	if v.BaselineValue != "" || v.BaselineDate != "" {
		in.Baseline = &kpi.BaselineInput{Date: v.BaselineDate, Value: textOrNil(v.BaselineValue)}
	}
	return in, problems
}

// textOrNil returns s, or nil for an empty s, which the KPI file's layout
// reads as "not set".
func textOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// formValuesOf returns the form's fields for a stored KPI.
func formValuesOf(in *kpi.KPIInput) kpiFormValues {
	v := kpiFormValues{
		ID: in.ID, Name: in.Name, Description: in.Description, Objective: in.Objective,
		Owner: in.Owner, Unit: in.Unit, Direction: in.Direction, Grain: in.Grain,
		Review: in.Review,
	}
	if v.Direction == "" {
		v.Direction = string(kpi.Up)
	}
	if v.Grain == "" {
		v.Grain = string(timegrain.Month)
	}
	if m := in.Metric; m != nil {
		v.MetricKind, v.MetricEvent, v.MetricProperty, v.MetricFormula = m.Kind, m.Event, m.Property, m.Formula
		if m.Window != 0 {
			v.MetricWindow = strconv.Itoa(m.Window)
		}
	}
	if t := in.Target; t != nil {
		v.TargetValue, v.TargetChange, v.TargetBy = anyText(t.Value), anyText(t.Change), t.By
	}
	if b := in.Baseline; b != nil {
		v.BaselineValue, v.BaselineDate = anyText(b.Value), b.Date
	}
	return v
}

func anyText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case uint64:
		return strconv.FormatUint(x, 10)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// templateFuncs are the functions the page templates may call.
var templateFuncs = template.FuncMap{"field": newFormField, "selectField": newSelectField}

// formFieldView is one field of the KPI form with its findings.
type formFieldView struct {
	Name, Label, Value, Hint string
	ReadOnly                 bool
	Options                  []option
	Errors, Warnings         []string
}

func newFormField(name, label, value, hint string, page kpiFormPage) formFieldView {
	return formFieldView{
		Name: name, Label: label, Value: value, Hint: hint,
		ReadOnly: name == "id" && page.Editing,
		Errors:   page.Errors[name], Warnings: page.Warnings[name],
	}
}

func newSelectField(name, label string, options []option, page kpiFormPage) formFieldView {
	return formFieldView{Name: name, Label: label, Options: options, Errors: page.Errors[name], Warnings: page.Warnings[name]}
}
