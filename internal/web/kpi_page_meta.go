package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// kpiMetaView is the part of the KPI page about annotations, feedback and
// editing.
type kpiMetaView struct {
	Href        string // the KPI page, where the forms return to
	Query       string // the page's query (grain and range), kept by the forms
	ManagedByUI bool
	CanEdit     bool // whether the principal may add and delete, which shows the forms
	EditHref    string
	KPIFile     string // the KPI file of a KPI managed by code

	Annotations    []annotationView
	Kinds          []kindOption
	AnnotationForm annotationForm
	Feedback       []feedbackView
	FeedbackForm   feedbackForm
}

type annotationView struct {
	ID        int64
	Date      string
	Kind      string
	KindLabel string
	Note      string
	Author    string
	AllKPIs   bool
	DeleteURL string
}

type kindOption struct {
	Value    string
	Label    string
	Selected bool
}

type feedbackView struct {
	Text    string
	Author  string
	Source  string
	Created string
}

// annotationForm holds what the annotation form sent, and the error and the
// field it is about when the annotation was rejected.
type annotationForm struct {
	Scope, Kind, Date, Note string
	Error, ErrorField       string
}

// feedbackForm is annotationForm for feedback.
type feedbackForm struct {
	Text, Author, Source string
	Error, ErrorField    string
}

// kpiPageForms holds the forms of a KPI page re-rendered after an error.
type kpiPageForms struct {
	Annotation annotationForm
	Feedback   feedbackForm
	Review     reviewForm
	Target     targetForm
}

// chartAnnotation is one annotation marker on a chart: Label is the period
// it falls in, as on the chart's x axis.
type chartAnnotation struct {
	Label     string `json:"label"`
	Kind      string `json:"kind"`
	KindLabel string `json:"kind_label"`
	Date      string `json:"date"`
	Note      string `json:"note"`
	AllKPIs   bool   `json:"all_kpis"`
}

// addKPIMeta fills page.Meta and returns the annotations in the series'
// range, for the chart.
func (s *Server) addKPIMeta(r *http.Request, page *kpiPage, defs *kpi.Definitions, series *engine.Series, forms kpiPageForms) ([]kpi.Annotation, error) {
	if s.inRequest(r).kpiMeta == nil {
		return nil, nil
	}
	k := page.KPI
	href := "/kpis/" + url.PathEscape(k.ID)
	meta := &kpiMetaView{
		Href:           href,
		Query:          r.URL.RawQuery,
		ManagedByUI:    k.IsManagedByUI(),
		CanEdit:        canEdit(r),
		EditHref:       href + "/edit",
		KPIFile:        defs.Path,
		AnnotationForm: forms.Annotation,
		FeedbackForm:   forms.Feedback,
	}
	if meta.AnnotationForm.Date == "" {
		meta.AnnotationForm.Date = timegrain.DateOf(s.now().In(location(defs))).String()
	}
	for _, kind := range kpi.AnnotationKinds {
		meta.Kinds = append(meta.Kinds, kindOption{Value: string(kind), Label: kind.Label(), Selected: string(kind) == meta.AnnotationForm.Kind})
	}

	annotations, err := s.seriesAnnotations(r, k, series.From, series.To)
	if err != nil {
		return nil, err
	}
	for _, a := range annotations {
		meta.Annotations = append(meta.Annotations, annotationView{
			ID: a.ID, Date: a.Date.String(), Kind: string(a.Kind), KindLabel: a.Kind.Label(),
			Note: a.Note, Author: a.Author, AllKPIs: a.KPI == "",
			DeleteURL: withQuery(href+"/annotations/"+strconv.FormatInt(a.ID, 10)+"/delete", r.URL.RawQuery),
		})
	}

	feedback, err := s.inRequest(r).kpiMeta.ListFeedback(r.Context(), k.ID)
	if err != nil {
		return nil, err
	}
	loc := location(defs)
	for _, f := range feedback {
		meta.Feedback = append(meta.Feedback, feedbackView{Text: f.Text, Author: f.Author, Source: f.Source, Created: f.CreatedAt.In(loc).Format("2006-01-02 15:04")})
	}

	page.Meta = meta
	return annotations, nil
}

// newChartAnnotations places each annotation on the point of series whose
// period contains its date. Annotations outside every period are left out.
func newChartAnnotations(series *engine.Series, annotations []kpi.Annotation, loc *time.Location) []chartAnnotation {
	if loc == nil {
		loc = time.UTC
	}
	var out []chartAnnotation
	for _, a := range annotations {
		at := a.Date.In(loc)
		for _, p := range series.Points {
			if at.Before(p.Start) || !at.Before(p.End) {
				continue
			}
			out = append(out, chartAnnotation{
				Label: formatPeriod(p.Start, series.Grain), Kind: string(a.Kind), KindLabel: a.Kind.Label(),
				Date: a.Date.String(), Note: a.Note, AllKPIs: a.KPI == "",
			})
			break
		}
	}
	return out
}

func location(defs *kpi.Definitions) *time.Location {
	if defs.Workspace.Location != nil {
		return defs.Workspace.Location
	}
	return time.UTC
}

// handleAnnotationForm serves POST /kpis/{id}/annotations, the KPI page's
// annotation form. It redirects back to the page, or re-renders it with the
// error beside the field.
func (s *Server) handleAnnotationForm(w http.ResponseWriter, r *http.Request) error {
	k, err := s.currentDefinitions(r).KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	form := annotationForm{
		Scope: r.PostFormValue("scope"),
		Kind:  r.PostFormValue("kind"),
		Date:  r.PostFormValue("date"),
		Note:  r.PostFormValue("note"),
	}
	kpiID := k.ID
	if form.Scope == "all" {
		kpiID = ""
	}

	if _, err := s.createAnnotation(r, kpiID, form.Kind, form.Date, form.Note, r.PostFormValue("author")); err != nil {
		if kpi.ErrorCode(err) != kpi.EINVALID {
			return err
		}
		form.Error, form.ErrorField = kpi.ErrorMessage(err), errorField(err)
		return s.renderKPIPage(w, r, http.StatusBadRequest, kpiPageForms{Annotation: form})
	}
	http.Redirect(w, r, withQuery("/kpis/"+url.PathEscape(k.ID), r.URL.RawQuery)+"#annotations", http.StatusSeeOther)
	return nil
}

// handleAnnotationDeleteForm serves POST /kpis/{id}/annotations/{aid}/delete.
func (s *Server) handleAnnotationDeleteForm(w http.ResponseWriter, r *http.Request) error {
	k, err := s.currentDefinitions(r).KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	id, err := parseAnnotationID(r.PathValue("aid"))
	if err != nil {
		return err
	}
	if err := s.deleteAnnotation(r, id); err != nil {
		return err
	}
	http.Redirect(w, r, withQuery("/kpis/"+url.PathEscape(k.ID), r.URL.RawQuery)+"#annotations", http.StatusSeeOther)
	return nil
}

// handleFeedbackForm serves POST /kpis/{id}/feedback, the KPI page's
// feedback form.
func (s *Server) handleFeedbackForm(w http.ResponseWriter, r *http.Request) error {
	k, err := s.currentDefinitions(r).KPI(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	form := feedbackForm{Text: r.PostFormValue("text"), Author: r.PostFormValue("author"), Source: r.PostFormValue("source")}

	_, err = s.createFeedback(r, kpi.Feedback{KPI: k.ID, Text: form.Text, Author: form.Author, Source: form.Source})
	if err != nil {
		if kpi.ErrorCode(err) != kpi.EINVALID {
			return err
		}
		form.Error, form.ErrorField = kpi.ErrorMessage(err), errorField(err)
		return s.renderKPIPage(w, r, http.StatusBadRequest, kpiPageForms{Feedback: form})
	}
	http.Redirect(w, r, withQuery("/kpis/"+url.PathEscape(k.ID), r.URL.RawQuery)+"#feedback", http.StatusSeeOther)
	return nil
}

// parseForm reads a form body of at most maxMetaBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxMetaBody)
	if err := r.ParseForm(); err != nil {
		return kpi.Errorf(kpi.EINVALID, "the form could not be read: %v", err)
	}
	return nil
}

// errorField returns the field an EINVALID message starts with, such as
// "date" for "date: missing (want YYYY-MM-DD)".
func errorField(err error) string {
	field, _, ok := strings.Cut(kpi.ErrorMessage(err), ":")
	if !ok || strings.ContainsAny(field, " \"") {
		return ""
	}
	return field
}

// withQuery returns path with the raw query appended, if there is one.
func withQuery(path, rawQuery string) string {
	if rawQuery == "" {
		return path
	}
	return path + "?" + rawQuery
}

// canEdit reports whether the request's principal has the editor role,
// which changing KPIs, annotations and feedback needs. The server checks
// the role on each change; pages use this only to hide what would fail.
func canEdit(r *http.Request) bool {
	p := PrincipalFrom(r.Context())
	return p != nil && p.Role.Allows(auth.RoleEditor)
}
