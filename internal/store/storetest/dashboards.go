package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// DashboardStore is the dashboards, widgets and share links of a store.
type DashboardStore interface {
	CreateDashboard(ctx context.Context, d store.Dashboard) (store.Dashboard, error)
	ListDashboards(ctx context.Context) ([]store.Dashboard, error)
	Dashboard(ctx context.Context, id int64) (store.Dashboard, error)
	UpdateDashboard(ctx context.Context, d store.Dashboard) (store.Dashboard, error)
	DeleteDashboard(ctx context.Context, id int64) error
	AddWidget(ctx context.Context, w store.Widget) (store.Widget, error)
	UpdateWidget(ctx context.Context, w store.Widget) (store.Widget, error)
	DeleteWidget(ctx context.Context, dashboardID, widgetID int64) error
	SaveLayout(ctx context.Context, dashboardID int64, layout []store.WidgetPosition) error
	CreateShareLink(ctx context.Context, dashboardID int64) (store.ShareLink, string, error)
	ListShareLinks(ctx context.Context, dashboardID int64) ([]store.ShareLink, error)
	RevokeShareLink(ctx context.Context, dashboardID, linkID int64) error
	ShareLinkByToken(ctx context.Context, token string) (store.ShareLink, error)
}

var dashboardTests = []test{
	{"create and read with widgets", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		d, err := s.CreateDashboard(ctx, store.Dashboard{
			Name:      "  Growth ",
			Objective: "grow",
			Grain:     "week",
			Widgets: []store.Widget{
				{Kind: "kpi_card", KPIs: []string{"mau"}, X: 0, Y: 0, W: 3, H: 2},
				{Kind: "chart", KPIs: []string{"mau", "signups"}, X: 3, Y: 0, W: 6, H: 4, Options: json.RawMessage(`{"chart":"bar"}`)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.Dashboard(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Growth" || got.Objective != "grow" || got.Grain != "week" {
			t.Errorf("dashboard = %q objective %q grain %q, want Growth, grow, week", got.Name, got.Objective, got.Grain)
		}
		if len(got.Widgets) != 2 {
			t.Fatalf("dashboard has %d widgets, want 2", len(got.Widgets))
		}
		chart := got.Widgets[1]
		if chart.Kind != "chart" || strings.Join(chart.KPIs, ",") != "mau,signups" || chart.X != 3 || chart.W != 6 || chart.H != 4 {
			t.Errorf("second widget = %+v, want the chart of mau and signups at x 3, 6x4", chart)
		}
		var opts map[string]string
		if err := json.Unmarshal(chart.Options, &opts); err != nil || opts["chart"] != "bar" {
			t.Errorf("chart options = %s, want {\"chart\":\"bar\"}", chart.Options)
		}
		if n := countRows(t, s, fmt.Sprintf("SELECT count(*) FROM widgets WHERE dashboard_id = %d", d.ID)); n != 2 {
			t.Errorf("widgets table has %d rows for the dashboard, want 2", n)
		}
	}},
	{"unknown dashboard is not found", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		_, err := s.Dashboard(context.Background(), 999)
		wantCode(t, err, kpi.ENOTFOUND)
		wantCode(t, s.DeleteDashboard(context.Background(), 999), kpi.ENOTFOUND)
		_, err = s.AddWidget(context.Background(), store.Widget{DashboardID: 999, Kind: "kpi_card", W: 1, H: 1})
		wantCode(t, err, kpi.ENOTFOUND)
		_, _, err = s.CreateShareLink(context.Background(), 999)
		wantCode(t, err, kpi.ENOTFOUND)
	}},
	{"bad name and size are invalid", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		_, err := s.CreateDashboard(ctx, store.Dashboard{Name: " "})
		wantCode(t, err, kpi.EINVALID)
		_, err = s.CreateDashboard(ctx, store.Dashboard{Name: strings.Repeat("n", 101)})
		wantCode(t, err, kpi.EINVALID)

		d := newDashboard(t, s, "Sizes")
		for _, w := range []store.Widget{
			{W: -1, H: 2}, {W: 2, H: 0}, {X: 11, W: 2, H: 1}, {X: -1, W: 1, H: 1}, {W: 13, H: 1},
		} {
			w.DashboardID, w.Kind = d.ID, "kpi_card"
			_, err := s.AddWidget(ctx, w)
			wantCode(t, err, kpi.EINVALID)
		}
		if n := countRows(t, s, "SELECT count(*) FROM widgets"); n != 0 {
			t.Errorf("widgets table has %d rows after bad widgets, want 0", n)
		}
	}},
	{"rename, add, update and delete widgets", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		d := newDashboard(t, s, "Old")
		d.Name, d.From, d.To = "New", "2026-01-01", "2026-03-31"
		got, err := s.UpdateDashboard(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "New" || got.From != "2026-01-01" || got.To != "2026-03-31" {
			t.Errorf("after update: %q %s..%s, want New 2026-01-01..2026-03-31", got.Name, got.From, got.To)
		}

		w, err := s.AddWidget(ctx, store.Widget{DashboardID: d.ID, Kind: "kpi_card", KPIs: []string{"mau"}, W: 3, H: 2})
		if err != nil {
			t.Fatal(err)
		}
		w.KPIs, w.X, w.H = []string{"dau"}, 4, 3
		if _, err := s.UpdateWidget(ctx, w); err != nil {
			t.Fatal(err)
		}
		var kpis string
		var x, h int64
		queryRow(t, s, fmt.Sprintf("SELECT kpi_ids, x, h FROM widgets WHERE id = %d", w.ID), &kpis, &x, &h)
		if strings.ReplaceAll(kpis, " ", "") != `["dau"]` || x != 4 || h != 3 {
			t.Errorf("stored widget kpi_ids %s x %d h %d, want [\"dau\"] 4 3", kpis, x, h)
		}

		w.DashboardID = d.ID + 1
		_, err = s.UpdateWidget(ctx, w)
		wantCode(t, err, kpi.ENOTFOUND)
		wantCode(t, s.DeleteWidget(ctx, d.ID+1, w.ID), kpi.ENOTFOUND)
		if err := s.DeleteWidget(ctx, d.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, s, "SELECT count(*) FROM widgets"); n != 0 {
			t.Errorf("widgets table has %d rows after the delete, want 0", n)
		}
	}},
	{"layout saves whole or not at all", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		d, err := s.CreateDashboard(ctx, store.Dashboard{Name: "Layout", Widgets: []store.Widget{
			{Kind: "kpi_card", X: 0, Y: 0, W: 3, H: 2},
			{Kind: "kpi_card", X: 3, Y: 0, W: 3, H: 2},
		}})
		if err != nil {
			t.Fatal(err)
		}
		a, b := d.Widgets[0].ID, d.Widgets[1].ID

		err = s.SaveLayout(ctx, d.ID, []store.WidgetPosition{{ID: a, X: 6, Y: 0, W: 3, H: 2}, {ID: 9999, X: 0, Y: 0, W: 1, H: 1}})
		wantCode(t, err, kpi.ENOTFOUND)
		if x := countRows(t, s, fmt.Sprintf("SELECT x FROM widgets WHERE id = %d", a)); x != 0 {
			t.Errorf("widget %d moved to x %d by a failed layout, want it at 0", a, x)
		}

		err = s.SaveLayout(ctx, d.ID, []store.WidgetPosition{{ID: a, X: 0, Y: 2, W: 12, H: 4}, {ID: b, X: 0, Y: 0, W: 4, H: 2}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Dashboard(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Widgets[0].ID != b || got.Widgets[1].ID != a || got.Widgets[1].W != 12 || got.Widgets[1].Y != 2 {
			t.Errorf("after the layout the widgets are %+v, want %d first and %d below it, 12 wide", got.Widgets, b, a)
		}
	}},
	{"delete removes widgets and links", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		d, err := s.CreateDashboard(ctx, store.Dashboard{Name: "Gone", Widgets: []store.Widget{{Kind: "kpi_card", W: 1, H: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		keep := newDashboard(t, s, "Kept")
		_, token, err := s.CreateShareLink(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDashboard(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"widgets", "share_links"} {
			if n := countRows(t, s, "SELECT count(*) FROM "+table); n != 0 {
				t.Errorf("%s has %d rows after the dashboard was deleted, want 0", table, n)
			}
		}
		_, err = s.ShareLinkByToken(ctx, token)
		wantCode(t, err, kpi.ENOTFOUND)

		list, err := s.ListDashboards(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != keep.ID {
			t.Errorf("ListDashboards = %+v, want only %q", list, keep.Name)
		}
	}},
	{"share link stores only a hash", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		d := newDashboard(t, s, "Shared")
		link, token, err := s.CreateShareLink(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, store.ShareTokenPrefix) || len(token) < 50 || !strings.HasPrefix(token, link.Prefix) {
			t.Errorf("token %q (prefix %q), want ns_sh_ and at least 44 random characters", token, link.Prefix)
		}

		sum := sha256.Sum256([]byte(token))
		hash := hex.EncodeToString(sum[:])
		if n := countRows(t, s, "SELECT count(*) FROM share_links WHERE token_hash = '"+hash+"'"); n != 1 {
			t.Errorf("%d share links have the token's SHA-256, want 1", n)
		}
		if n := countRows(t, s, "SELECT count(*) FROM share_links WHERE token_hash = '"+token+"' OR prefix = '"+token+"'"); n != 0 {
			t.Errorf("the token is stored in clear in %d rows", n)
		}

		got, err := s.ShareLinkByToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if got.DashboardID != d.ID {
			t.Errorf("token opens dashboard %d, want %d", got.DashboardID, d.ID)
		}
		_, err = s.ShareLinkByToken(ctx, token+"x")
		wantCode(t, err, kpi.ENOTFOUND)
	}},
	{"revoked share link stops working", func(t *testing.T, open func(t *testing.T) Store) {
		s := dashboards(t, open)
		ctx := context.Background()
		d := newDashboard(t, s, "Shared")
		link, token, err := s.CreateShareLink(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.RevokeShareLink(ctx, d.ID+1, link.ID), kpi.ENOTFOUND)
		if err := s.RevokeShareLink(ctx, d.ID, link.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.ShareLinkByToken(ctx, token)
		wantCode(t, err, kpi.ENOTFOUND)
		wantCode(t, s.RevokeShareLink(ctx, d.ID, link.ID), kpi.ENOTFOUND)

		links, err := s.ListShareLinks(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != 1 || links[0].RevokedAt == nil {
			t.Errorf("ListShareLinks = %+v, want one revoked link", links)
		}
	}},
}

func dashboards(t *testing.T, open func(t *testing.T) Store) Store {
	t.Helper()
	return open(t)
}

func newDashboard(t *testing.T, s Store, name string) store.Dashboard {
	t.Helper()
	d, err := s.CreateDashboard(context.Background(), store.Dashboard{Name: name})
	if err != nil {
		t.Fatalf("CreateDashboard %q: %v", name, err)
	}
	return d
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := kpi.ErrorCode(err); got != code {
		t.Errorf("error %v has code %q, want %q", err, got, code)
	}
}
