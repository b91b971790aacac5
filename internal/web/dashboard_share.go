package web

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// This file serves read-only share links and the CSV export. A share link's
// token opens one dashboard: its page, its data, its live updates and its
// export, and nothing else.

func (s *Server) registerShareRoutes() {
	if s.defaultWorkspace.dashboards == nil {
		return
	}
	s.register("GET /share/{token}", AccessShareToken, s.handle(s.handleSharePage))
	s.register("GET /share/{token}/data", AccessShareToken, s.handle(s.handleShareData))
	s.register("GET /share/{token}/events", AccessShareToken, s.handle(s.handleShareEvents))
	s.register("GET /share/{token}/export.csv", AccessShareToken, s.handle(s.handleShareExport))
}

// shareLinkJSON is a share link in the API. URL and Token are set only in
// the response that creates the link.
type shareLinkJSON struct {
	ID        int64      `json:"id"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Token     string     `json:"token,omitempty"`
	URL       string     `json:"url,omitempty"`
}

func newShareLinkJSON(l store.ShareLink) shareLinkJSON {
	return shareLinkJSON{ID: l.ID, Prefix: l.Prefix, CreatedAt: l.CreatedAt, RevokedAt: l.RevokedAt}
}

// handleShareLinkCreate serves POST /api/v1/dashboards/{id}/share-links. The
// token is in the response only: the store keeps its hash.
func (s *Server) handleShareLinkCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "dashboard")
	if err != nil {
		return err
	}
	link, token, err := s.inRequest(r).dashboards.CreateShareLink(r.Context(), id)
	if err != nil {
		return err
	}
	s.auditShareLink(r, "create", link.DashboardID, link.ID, nil, newShareLinkJSON(link)) // without the token
	out := newShareLinkJSON(link)
	out.Token, out.URL = token, "/share/"+token
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusCreated, out)
	return nil
}

// handleShareLinkList serves GET /api/v1/dashboards/{id}/share-links.
func (s *Server) handleShareLinkList(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	links, err := s.inRequest(r).dashboards.ListShareLinks(r.Context(), d.ID)
	if err != nil {
		return err
	}
	out := struct {
		Links []shareLinkJSON `json:"share_links"`
	}{Links: make([]shareLinkJSON, 0, len(links))}
	for _, l := range links {
		out.Links = append(out.Links, newShareLinkJSON(l))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// handleShareLinkRevoke serves DELETE /api/v1/dashboards/{id}/share-links/{link}.
func (s *Server) handleShareLinkRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "dashboard")
	if err != nil {
		return err
	}
	linkID, err := pathID(r, "link", "share link")
	if err != nil {
		return err
	}
	if err := s.inRequest(r).dashboards.RevokeShareLink(r.Context(), id, linkID); err != nil {
		return err
	}
	s.auditShareLink(r, "revoke", id, linkID, nil, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sharedDashboard returns the dashboard that the {token} path value opens,
// and r with the link's workspace in its context, so that the handler reads
// only that workspace. Every failure is the same not-found error, so a
// response never reveals whether a token existed.
func (s *Server) sharedDashboard(r *http.Request) (store.Dashboard, *http.Request, error) {
	notFound := kpi.Errorf(kpi.ENOTFOUND, "this share link does not exist or was revoked (ask the person who shared it for a new link)")
	token := r.PathValue("token")
	if !strings.HasPrefix(token, store.ShareTokenPrefix) {
		return store.Dashboard{}, r, notFound
	}
	link, err := s.defaultWorkspace.dashboards.ShareLinkByToken(r.Context(), token)
	if kpi.ErrorCode(err) == kpi.ENOTFOUND {
		return store.Dashboard{}, r, notFound
	}
	if err != nil {
		return store.Dashboard{}, r, err
	}

	ctx, err := s.withWorkspace(r.Context(), link.WorkspaceID)
	if err != nil {
		return store.Dashboard{}, r, err
	}
	r = r.WithContext(ctx)
	d, err := s.inRequest(r).dashboards.Dashboard(r.Context(), link.DashboardID)
	if kpi.ErrorCode(err) == kpi.ENOTFOUND {
		return store.Dashboard{}, r, notFound
	}
	return d, r, err
}

// handleSharePage serves GET /share/{token}: the dashboard, read-only.
func (s *Server) handleSharePage(w http.ResponseWriter, r *http.Request) error {
	d, r, err := s.sharedDashboard(r)
	if err != nil {
		return err
	}
	w.Header().Set("Referrer-Policy", "no-referrer") // keep the token out of Referer headers
	base := "/share/" + url.PathEscape(r.PathValue("token"))
	return s.renderBoard(w, r, d, boardConfig{Mode: "shared", DataURL: base + "/data", EventsURL: base + "/events", ExportURL: base + "/export.csv"})
}

// handleShareData serves GET /share/{token}/data.
func (s *Server) handleShareData(w http.ResponseWriter, r *http.Request) error {
	d, r, err := s.sharedDashboard(r)
	if err != nil {
		return err
	}
	return s.writeDashboardData(w, r, d)
}

// handleShareEvents serves GET /share/{token}/events.
func (s *Server) handleShareEvents(w http.ResponseWriter, r *http.Request) error {
	d, r, err := s.sharedDashboard(r)
	if err != nil {
		return err
	}
	return s.streamDashboard(w, r, d.ID)
}

// handleShareExport serves GET /share/{token}/export.csv.
func (s *Server) handleShareExport(w http.ResponseWriter, r *http.Request) error {
	d, r, err := s.sharedDashboard(r)
	if err != nil {
		return err
	}
	return s.writeDashboardCSV(w, r, d)
}

// handleDashboardExport serves GET /api/v1/dashboards/{id}/export.csv.
func (s *Server) handleDashboardExport(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboardFromPath(r)
	if err != nil {
		return err
	}
	return s.writeDashboardCSV(w, r, d)
}

// csvHeader names the columns of a dashboard export.
var csvHeader = []string{"kpi_id", "kpi_name", "unit", "grain", "period_start", "period_end", "value", "target", "status", "partial"}

// writeDashboardCSV writes the series of every KPI on d, once each, under
// the dashboard's controls: one row per KPI and period.
func (s *Server) writeDashboardCSV(w http.ResponseWriter, r *http.Request, d store.Dashboard) error {
	c, err := controlsFor(r, d)
	if err != nil {
		return err
	}
	defs := s.currentDefinitions(r)

	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(csvHeader)
	seen := map[string]bool{}
	for _, id := range dashboardKPIs(defs, d) {
		if seen[id] {
			continue
		}
		seen[id] = true
		k, err := defs.KPI(id)
		if err != nil {
			continue // a widget of a KPI no longer defined shows that error itself
		}
		series, err := s.seriesFor(r.Context(), defs, k, c)
		if kpi.ErrorCode(err) == kpi.EINTERNAL {
			return err
		}
		if err != nil {
			continue
		}
		for _, p := range series.Points {
			_ = cw.Write([]string{
				csvText(k.ID), csvText(kpiName(k)), csvText(k.Unit), string(series.Grain),
				p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly),
				csvNumber(p.Value), csvNumber(p.Target), string(p.Status), strconv.FormatBool(p.Partial),
			})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}

	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="dashboard-`+strconv.FormatInt(d.ID, 10)+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// dashboardKPIs lists the KPIs d shows, in widget order, with the KPIs of
// its objective widgets.
func dashboardKPIs(defs *kpi.Definitions, d store.Dashboard) []string {
	var ids []string
	for _, wd := range d.Widgets {
		ids = append(ids, wd.KPIs...)
		if wd.Kind == "objective" {
			opts, _ := parseWidgetOptions(wd.Options)
			for _, k := range defs.KPIs {
				if k.Objective == opts.Objective {
					ids = append(ids, k.ID)
				}
			}
		}
	}
	return ids
}

func csvNumber(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// csvText guards a text cell that a spreadsheet would run as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditShareLink records a change of a share link in the audit log, under
// the id "DASHBOARD/LINK". Entries never contain the link's token.
func (s *Server) auditShareLink(r *http.Request, action string, dashboardID, linkID int64, before, after any) {
	s.auditChange(r.Context(), auth.AuditEntry{
		Action: action, ObjectType: "share_link", ObjectID: strconv.FormatInt(dashboardID, 10) + "/" + strconv.FormatInt(linkID, 10),
		Before: before, After: after,
	})
}
