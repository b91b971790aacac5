package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

func (s *Server) registerKPIEditRoutes() {
	s.register("POST /api/v1/kpis", AccessEditor, s.handle(s.handleKPICreate))
	s.register("PUT /api/v1/kpis/{id}", AccessEditor, s.handle(s.handleKPIUpdate))
	s.register("DELETE /api/v1/kpis/{id}", AccessEditor, s.handle(s.handleKPIDelete))
}

// reservedKPIID is the id no KPI made in the UI may have, because
// /kpis/new is the New KPI form.
const reservedKPIID = "new"

// kpiInvalidError reports the findings that stop a KPI from being saved.
type kpiInvalidError struct {
	id       string
	findings []kpi.Finding // errors first, then warnings
}

func (e *kpiInvalidError) Error() string { return e.Unwrap().Error() }

// Unwrap returns the EINVALID error that errorStatus maps to 400.
func (e *kpiInvalidError) Unwrap() error {
	var lines []string
	for _, f := range e.findings {
		if f.Severity == kpi.SeverityError {
			lines = append(lines, findingText(f))
		}
	}
	subject := "the KPI"
	if e.id != "" {
		subject = "KPI " + `"` + e.id + `"`
	}
	return kpi.Errorf(kpi.EINVALID, "%s is not valid: %s", subject, strings.Join(lines, "; "))
}

// findingText returns "FIELD: message", or the message alone.
func findingText(f kpi.Finding) string {
	if f.Field == "" {
		return f.Message
	}
	return f.Field + ": " + f.Message
}

// findingJSON is one problem with a KPI sent to be saved.
type findingJSON struct {
	Severity kpi.Severity `json:"severity"`
	Field    string       `json:"field"`
	Message  string       `json:"message"`
}

func newFindingsJSON(findings []kpi.Finding) []findingJSON {
	out := make([]findingJSON, 0, len(findings))
	for _, f := range findings {
		out = append(out, findingJSON{Severity: f.Severity, Field: f.Field, Message: f.Message})
	}
	return out
}

// kpiSavedJSON is the body of a successful KPI create or update: the KPI and
// the warnings northstar check gives for it.
type kpiSavedJSON struct {
	kpiJSON
	Warnings []findingJSON `json:"warnings"`
}

// kpiInvalidBody is the body of a 400 for a KPI that does not validate.
type kpiInvalidBody struct {
	Error struct {
		errorDetail
		Findings []findingJSON `json:"findings"`
	} `json:"error"`
}

// handleKPICreate serves POST /api/v1/kpis: a body with one KPI in the KPI
// file's layout, as JSON.
func (s *Server) handleKPICreate(w http.ResponseWriter, r *http.Request) error {
	in, err := readKPIInput(w, r)
	if err != nil {
		return err
	}
	k, warnings, err := s.saveKPI(r.Context(), in, "")
	return s.writeKPISaved(w, r, http.StatusCreated, k, warnings, err)
}

// handleKPIUpdate serves PUT /api/v1/kpis/{id}. The body's id may be left
// out; when present it must be the path's.
func (s *Server) handleKPIUpdate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.editableKPI(r.Context(), id); err != nil {
		return err
	}
	in, err := readKPIInput(w, r)
	if err != nil {
		return err
	}
	if in.ID == "" {
		in.ID = id
	}
	if in.ID != id {
		return kpi.Errorf(kpi.EINVALID, "id: %q differs from the KPI %q in the path; a KPI's id cannot change (create a new KPI instead)", in.ID, id)
	}

	k, warnings, err := s.saveKPI(r.Context(), in, id)
	return s.writeKPISaved(w, r, http.StatusOK, k, warnings, err)
}

// handleKPIDelete serves DELETE /api/v1/kpis/{id}.
func (s *Server) handleKPIDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.deleteKPI(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func readKPIInput(w http.ResponseWriter, r *http.Request) (*kpi.KPIInput, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMetaBody))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, kpi.Errorf(kpi.ETOOLARGE, "the request body is larger than %d bytes", maxMetaBody)
	}
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "read the request body: %v", err)
	}
	if err := checkJSONSyntax(data); err != nil {
		return nil, err
	}
	return kpi.DecodeKPIInput(data)
}

// checkJSONSyntax rejects a body that is not valid JSON with the message the
// other JSON routes use, before the YAML decoder (which also reads JSON)
// would report it in YAML terms. An empty body passes, so that
// DecodeKPIInput reports the missing fields.
func checkJSONSyntax(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntaxErr) && syntaxErr.Offset >= int64(len(data)):
		return kpi.Errorf(kpi.EINVALID, "the request body is not valid JSON: it ends before the value is complete")
	case errors.As(err, &syntaxErr):
		return kpi.Errorf(kpi.EINVALID, "the request body is not valid JSON: %v (at byte %d)", err, syntaxErr.Offset)
	}
	return kpi.Errorf(kpi.EINVALID, "the request body is not valid JSON: %v", err)
}

// writeKPISaved writes the saved KPI with its warnings, or the error of
// saving it, with the findings when the KPI does not validate.
func (s *Server) writeKPISaved(w http.ResponseWriter, r *http.Request, status int, k *kpi.KPI, warnings []kpi.Finding, err error) error {
	var invalid *kpiInvalidError
	if errors.As(err, &invalid) {
		var body kpiInvalidBody
		body.Error.Code = kpi.EINVALID
		body.Error.Message = kpi.ErrorMessage(invalid)
		body.Error.Findings = newFindingsJSON(invalid.findings)
		s.writeJSON(w, r, http.StatusBadRequest, body)
		return nil
	}
	if err != nil {
		return err
	}

	defs := s.currentDefinitions(r)
	series, seriesErr := s.defaultSeries(r.Context(), defs, k)
	if kpi.ErrorCode(seriesErr) == kpi.EINTERNAL {
		return seriesErr
	}
	s.writeJSON(w, r, status, kpiSavedJSON{kpiJSON: newKPIJSON(defs, k, series, seriesErr), Warnings: newFindingsJSON(warnings)})
	return nil
}

// editableKPI returns the KPI with the given id when it was made in the UI.
// It returns ENOTFOUND for an unknown id and ECONFLICT for a KPI of the KPI
// file, which only the file changes.
func (s *Server) editableKPI(ctx context.Context, id string) (*kpi.KPI, error) {
	defs := s.definitionsIn(ctx)
	k, err := defs.KPI(id)
	if err != nil {
		return nil, err
	}
	if !k.IsManagedByUI() {
		return nil, managedByCodeError(defs, id)
	}
	return k, nil
}

func managedByCodeError(defs *kpi.Definitions, id string) error {
	file := "the KPI file"
	if defs.Path != "" {
		file += " " + defs.Path
	}
	return kpi.Errorf(kpi.ECONFLICT, "KPI %q is managed by code: it is defined in %s and is read-only here; edit the file to change it", id, file)
}

// saveKPI checks in against the served definitions and stores it, as a new
// KPI when replaces is empty and as the new definition of the KPI replaces
// otherwise. It returns the KPI and its warnings, or a *kpiInvalidError.
func (s *Server) saveKPI(ctx context.Context, in *kpi.KPIInput, replaces string) (*kpi.KPI, []kpi.Finding, error) {
	s.in(ctx).catalog.writeMu.Lock()
	defer s.in(ctx).catalog.writeMu.Unlock()

	defs := s.definitionsIn(ctx)
	if replaces == "" {
		if existing, err := defs.KPI(in.ID); err == nil {
			if !existing.IsManagedByUI() {
				return nil, nil, kpi.Errorf(kpi.ECONFLICT, "id: a KPI with id %q is defined in the KPI file (pick another id)", in.ID)
			}
			return nil, nil, kpi.Errorf(kpi.ECONFLICT, "id: a KPI with id %q already exists (pick another id, or edit that KPI)", in.ID)
		}
	} else if _, err := s.editableKPI(ctx, replaces); err != nil {
		return nil, nil, err
	}

	k, findings := defs.CheckKPI(in, replaces, s.now())
	if in.ID == reservedKPIID {
		// The id would name the page /kpis/new, which is the New KPI form.
		findings = append([]kpi.Finding{{Severity: kpi.SeverityError, KPI: in.ID, Field: "id",
			Message: `"new" is reserved for the New KPI page (pick another id)`}}, findings...)
	}
	if kpi.HasErrors(findings) {
		return nil, nil, &kpiInvalidError{id: in.ID, findings: findings}
	}
	definition, err := kpi.EncodeKPIInput(in)
	if err != nil {
		return nil, nil, err
	}

	stored := store.StoredKPI{ID: k.ID, Name: k.Name, Objective: k.Objective, Owner: k.Owner, Unit: k.Unit, Direction: k.Direction, Definition: definition}
	entry := auth.AuditEntry{Action: "create", ObjectType: "kpi", ObjectID: k.ID, After: json.RawMessage(definition)}
	if replaces == "" {
		err = s.in(ctx).kpiMeta.CreateKPI(ctx, stored)
	} else {
		entry.Action, entry.Before = "update", s.storedKPIDefinition(ctx, replaces)
		err = s.in(ctx).kpiMeta.UpdateKPI(ctx, stored)
	}
	s.in(ctx).catalog.invalidate()
	if err != nil {
		return nil, nil, err
	}
	s.auditChange(ctx, entry)
	return k, findings, nil
}

// deleteKPI deletes the KPI made in the UI with the given id. It returns
// ECONFLICT for a KPI of the KPI file and for a KPI that formulas use.
func (s *Server) deleteKPI(ctx context.Context, id string) error {
	s.in(ctx).catalog.writeMu.Lock()
	defer s.in(ctx).catalog.writeMu.Unlock()

	if _, err := s.editableKPI(ctx, id); err != nil {
		return err
	}
	if users := s.definitionsIn(ctx).Dependents(id); len(users) > 0 {
		return kpi.Errorf(kpi.ECONFLICT, "KPI %q is used in the formulas of %s; change those first", id, strings.Join(users, ", "))
	}
	before := s.storedKPIDefinition(ctx, id)
	err := s.in(ctx).kpiMeta.DeleteKPI(ctx, id)
	s.in(ctx).catalog.invalidate()
	if err != nil {
		return err
	}
	s.auditChange(ctx, auth.AuditEntry{Action: "delete", ObjectType: "kpi", ObjectID: id, Before: before})
	return nil
}
