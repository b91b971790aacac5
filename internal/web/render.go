package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
)

//go:embed templates
var templateFS embed.FS

// pageNames lists the pages in templates/. Each is parsed with layout.html.
var pageNames = []string{"keys", "dashboard", "kpi", "error", "kpi_form", "signin", "account", "audit", "members"}

// requestFuncs are the template functions that depend on the request.
// Parsing binds placeholders; renderPage binds them to the request on a
// clone of the page's template.
//
//   - principal returns the request's *Principal, or nil.
//   - canEdit reports whether the principal may change KPIs, dashboards,
//     annotations and feedback (the editor role).
//   - csrfToken returns the session's CSRF token for a form's csrf_token
//     field, or "" without a session.
func requestFuncs(r *http.Request) template.FuncMap {
	var p *Principal
	if r != nil {
		p = PrincipalFrom(r.Context())
	}
	return template.FuncMap{
		"principal": func() *Principal { return p },
		"canEdit":   func() bool { return p != nil && p.Role.Allows(auth.RoleEditor) },
		"csrfToken": func() string {
			if p == nil || p.Session == nil {
				return ""
			}
			return p.Session.CSRFToken
		},
	}
}

// mustParseTemplates parses every page with the shared layout. The templates
// are embedded, so an error here is a defect in the build and panics.
func mustParseTemplates() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = mustParsePage(name)
	}
	return pages
}

// mustParsePage parses templates/NAME.html with the shared layout and the
// template functions. It panics on an error, a defect in the build.
func mustParsePage(name string) *template.Template {
	return template.Must(template.New(name).Funcs(templateFuncs).Funcs(requestFuncs(nil)).
		ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
}

// pageBase holds what the layout of every page shows.
type pageBase struct {
	Title     string
	Workspace string
	AsOf      string

	// ChartData is the JSON that app.js reads to draw the page's charts.
	ChartData template.JS

	// ChartLibrary reports whether the ECharts bundle is embedded. Without
	// it, the page shows ChartLibraryMissing instead of charts.
	ChartLibrary        bool
	ChartLibraryMissing string

	// KPIEditing reports whether the request's principal can make KPIs in
	// the UI, which shows the "New KPI" link.
	KPIEditing bool
}

// newPageBase fills the layout's fields for a page titled title.
func (s *Server) newPageBase(r *http.Request, title string) pageBase {
	defs := s.currentDefinitions(r)
	now := s.now()
	if loc := defs.Workspace.Location; loc != nil {
		now = now.In(loc)
	}
	workspace := ""
	if PrincipalFrom(r.Context()) != nil {
		workspace = defs.Workspace.Name
	}
	return pageBase{
		Title:               title,
		Workspace:           workspace,
		AsOf:                formatAsOf(now),
		ChartLibrary:        s.chartLib,
		ChartLibraryMissing: chartLibraryMissing,
		KPIEditing:          s.inRequest(r).kpiMeta != nil && canEdit(r),
	}
}

// chartJSON encodes the data of a page's charts for its application/json
// script block. json.Marshal escapes <, > and &, so no text in the data can
// end the block early.
func chartJSON(charts map[string]chartSpec) (template.JS, error) {
	b, err := json.Marshal(struct {
		Charts map[string]chartSpec `json:"charts"`
	}{charts})
	if err != nil {
		return "", err
	}
	return template.JS(b), nil
}

// renderPage executes the named page into a buffer and writes it with
// status, so that a template error becomes an error page and not half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	// The parsed templates are never executed, so they can be cloned.
	t, err := s.templates[name].Clone()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Funcs(requestFuncs(r)).ExecuteTemplate(&buf, "layout", data); err != nil {
		return err
	}

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// errorPage is the data of templates/error.html.
type errorPage struct {
	pageBase
	Status  int
	Message string
}

// renderErrorPage writes an HTML error page. If the page itself fails to
// render, it logs that and writes the message as plain text.
func (s *Server) renderErrorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	page := errorPage{
		pageBase: s.newPageBase(r, http.StatusText(status)),
		Status:   status,
		Message:  message,
	}
	if err := s.renderPage(w, r, status, "error", page); err != nil {
		s.logger.ErrorContext(r.Context(), "rendering the error page failed", requestAttrs(r), slog.Any("error", err))
		http.Error(w, message, status)
	}
}

// formatAsOf formats an instant for people, in the workspace's time zone.
func formatAsOf(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }
