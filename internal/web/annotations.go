package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// maxMetaBody bounds the JSON body of an annotation, feedback or KPI request.
// The maximum feedback text is 5,000 characters of up to 4 bytes each.
const maxMetaBody = 64 << 10

// registerKPIMetaRoutes registers the annotation, feedback and KPI editing
// routes: the API and the pages' forms.
func (s *Server) registerKPIMetaRoutes() {
	s.register("GET /api/v1/annotations", AccessViewer, s.handle(s.handleAnnotationList))
	s.register("POST /api/v1/annotations", AccessEditor, s.handle(s.handleAnnotationCreate))
	s.register("DELETE /api/v1/annotations/{id}", AccessEditor, s.handle(s.handleAnnotationDelete))
	s.register("GET /api/v1/kpis/{id}/feedback", AccessViewer, s.handle(s.handleFeedbackList))
	s.register("POST /api/v1/kpis/{id}/feedback", AccessEditor, s.handle(s.handleFeedbackCreate))
	s.registerKPIEditRoutes()
	s.registerKPIFormRoutes()
}

// annotationJSON is an annotation in API responses and the series JSON.
// KPIID is null for a note on every KPI.
type annotationJSON struct {
	ID        int64     `json:"id"`
	KPIID     *string   `json:"kpi_id"`
	Kind      string    `json:"kind"`
	Date      string    `json:"date"`
	Note      string    `json:"note"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

func newAnnotationJSON(a kpi.Annotation) annotationJSON {
	out := annotationJSON{ID: a.ID, Kind: string(a.Kind), Date: a.Date.String(), Note: a.Note, Author: a.Author, CreatedAt: a.CreatedAt}
	if a.KPI != "" {
		id := a.KPI
		out.KPIID = &id
	}
	return out
}

func newAnnotationsJSON(list []kpi.Annotation) []annotationJSON {
	out := make([]annotationJSON, 0, len(list))
	for _, a := range list {
		out = append(out, newAnnotationJSON(a))
	}
	return out
}

// annotationRequest is the body of POST /api/v1/annotations.
type annotationRequest struct {
	KPIID *string `json:"kpi_id"`
	Kind  string  `json:"kind"`
	Date  string  `json:"date"`
	Note  string  `json:"note"`

	// Author is kept only when the request has no signed-in account or API
	// token, which the server then names instead.
	Author string `json:"author"`
}

// handleAnnotationList serves GET /api/v1/annotations?kpi=&from=&to=.
func (s *Server) handleAnnotationList(w http.ResponseWriter, r *http.Request) error {
	query := r.URL.Query()
	q := store.AnnotationQuery{KPI: query.Get("kpi")}
	if q.KPI != "" {
		if _, err := s.currentDefinitions(r).KPI(q.KPI); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		name string
		date *timegrain.Date
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := query.Get(p.name); v != "" {
			d, err := timegrain.ParseDate(v)
			if err != nil {
				return kpi.Errorf(kpi.EINVALID, "query parameter %s: %v", p.name, err)
			}
			*p.date = d
		}
	}

	list, err := s.inRequest(r).kpiMeta.ListAnnotations(r.Context(), q)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"annotations": newAnnotationsJSON(list)})
	return nil
}

// handleAnnotationCreate serves POST /api/v1/annotations.
func (s *Server) handleAnnotationCreate(w http.ResponseWriter, r *http.Request) error {
	var req annotationRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		return err
	}
	kpiID := ""
	if req.KPIID != nil {
		kpiID = *req.KPIID
	}

	a, err := s.createAnnotation(r, kpiID, req.Kind, req.Date, req.Note, req.Author)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, newAnnotationJSON(a))
	return nil
}

// createAnnotation checks and stores an annotation on the KPI kpiID, or on
// every KPI when kpiID is empty, and records it in the audit log. The
// author is the signed-in account or API token; author is used only for a
// request without one.
func (s *Server) createAnnotation(r *http.Request, kpiID, kind, date, note, author string) (kpi.Annotation, error) {
	if p := PrincipalFrom(r.Context()); p != nil {
		author = p.Actor()
	}
	if kpiID != "" {
		if _, err := s.currentDefinitions(r).KPI(kpiID); err != nil {
			return kpi.Annotation{}, kpi.Errorf(kpi.EINVALID, "kpi_id: %s; send null for a note on every KPI", kpi.ErrorMessage(err))
		}
	}
	a := kpi.Annotation{KPI: kpiID, Kind: kpi.AnnotationKind(strings.TrimSpace(kind)), Note: note, Author: author}
	if strings.TrimSpace(date) == "" {
		return a, kpi.Errorf(kpi.EINVALID, "date: missing (want YYYY-MM-DD)")
	}
	d, err := kpi.ParseAnnotationDate(date)
	if err != nil {
		return a, err
	}
	a.Date = d
	if err := a.Validate(); err != nil {
		return a, err
	}
	a, err = s.inRequest(r).kpiMeta.CreateAnnotation(r.Context(), a)
	if err != nil {
		return a, err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "create", ObjectType: "annotation", ObjectID: strconv.FormatInt(a.ID, 10), After: newAnnotationJSON(a)})
	return a, nil
}

// deleteAnnotation deletes the annotation with the given id and records it
// in the audit log.
func (s *Server) deleteAnnotation(r *http.Request, id int64) error {
	before, err := s.inRequest(r).kpiMeta.Annotation(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.inRequest(r).kpiMeta.DeleteAnnotation(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "delete", ObjectType: "annotation", ObjectID: strconv.FormatInt(id, 10), Before: newAnnotationJSON(before)})
	return nil
}

// handleAnnotationDelete serves DELETE /api/v1/annotations/{id}.
func (s *Server) handleAnnotationDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := parseAnnotationID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.deleteAnnotation(r, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func parseAnnotationID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, kpi.Errorf(kpi.EINVALID, "annotation id %q is not valid (want a positive whole number)", s)
	}
	return id, nil
}

// seriesAnnotations returns the annotations on k and on every KPI dated in
// [from, to), with from and to in the workspace's time zone.
func (s *Server) seriesAnnotations(r *http.Request, k *kpi.KPI, from, to time.Time) ([]kpi.Annotation, error) {
	if s.inRequest(r).kpiMeta == nil {
		return nil, nil
	}
	loc := location(s.currentDefinitions(r))
	q := store.AnnotationQuery{KPI: k.ID, From: timegrain.DateOf(from.In(loc)), To: timegrain.DateOf(to.Add(-time.Nanosecond).In(loc))}
	return s.inRequest(r).kpiMeta.ListAnnotations(r.Context(), q)
}

// decodeJSONBody decodes the request's JSON body into dst, rejecting unknown
// fields, a second value and bodies over maxMetaBody, with errors that name
// the expected body.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxMetaBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}

	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
	)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return kpi.Errorf(kpi.EINVALID, "the request body is empty (send a JSON object)")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return kpi.Errorf(kpi.EINVALID, "the request body is not valid JSON: it ends before the value is complete")
	case errors.As(err, &maxErr):
		return kpi.Errorf(kpi.ETOOLARGE, "the request body is larger than %d bytes", maxMetaBody)
	case errors.As(err, &syntaxErr):
		return kpi.Errorf(kpi.EINVALID, "the request body is not valid JSON: %v (at byte %d)", err, syntaxErr.Offset)
	case errors.As(err, &typeErr):
		return kpi.Errorf(kpi.EINVALID, "%s: found a JSON %s, expected %s", typeErr.Field, typeErr.Value, jsonTypeName(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return kpi.Errorf(kpi.EINVALID, "the request body has an %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return kpi.Errorf(kpi.EINVALID, "the request body is not valid: %v", err)
}

// jsonTypeName returns the JSON name of a Go kind, for decoding errors.
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	}
	return fmt.Sprintf("a %s", kind)
}
