package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

//go:embed templates
var templateFS embed.FS

// pageNames lists the pages in templates/. Each is parsed with layout.html.
var pageNames = []string{"dashboard", "kpi", "error", "kpi_form"}

// mustParseTemplates parses every page with the shared layout. The templates
// are embedded, so an error here is a defect in the build and panics.
func mustParseTemplates() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
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

	// KPIEditing reports whether KPIs can be made in the UI, which shows the
	// "New KPI" link.
	KPIEditing bool
}

// newPageBase fills the layout's fields for a page titled title.
func (s *Server) newPageBase(title string) pageBase {
	defs := s.currentDefinitions()
	now := s.now()
	if loc := defs.Workspace.Location; loc != nil {
		now = now.In(loc)
	}
	return pageBase{
		Title:               title,
		Workspace:           defs.Workspace.Name,
		AsOf:                formatAsOf(now),
		ChartLibrary:        s.chartLib,
		ChartLibraryMissing: chartLibraryMissing,
		KPIEditing:          s.kpiMeta != nil,
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
	var buf bytes.Buffer
	if err := s.templates[name].ExecuteTemplate(&buf, "layout", data); err != nil {
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
		pageBase: s.newPageBase(http.StatusText(status)),
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
