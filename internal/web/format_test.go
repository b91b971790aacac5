package web

import (
	"math"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{1234567.891, "1,234,567.89"},
		{12.5, "12.5"},
		{12.505, "12.51"},
		{-4321.1, "-4,321.1"},
		{-0.001, "0"},
		{100000, "100,000"},
		{math.NaN(), "–"},
		{math.Inf(1), "–"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.in); got != tt.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   float64
		unit string
		want string
	}{
		{1234.5, "USD", "$1,234.50"},
		{1234, "USD", "$1,234"},
		{-20.25, "usd", "-$20.25"},
		{99.999, "EUR", "€100"},
		{5000000, "GBP", "£5,000,000"},
		{12.5, "%", "12.5%"},
		{40, "percent", "40%"},
		{1234, "users", "1,234 users"},
		{1234, "", "1,234"},
	}
	for _, tt := range tests {
		if got := formatValue(&tt.in, tt.unit); got != tt.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", tt.in, tt.unit, got, tt.want)
		}
	}
	if got := formatValue(nil, "USD"); got != "–" {
		t.Errorf("formatValue(nil) = %q, want –", got)
	}
}

func TestFormatChange(t *testing.T) {
	tests := []struct {
		in   float64
		unit string
		want string
	}{
		{12.345, "%", "+12.35%"},
		{-20, "%", "-20%"},
		{0, "%", "0%"},
		{1.5, "pp", "+1.5 pp"},
		{-0.75, "pp", "-0.75 pp"},
	}
	for _, tt := range tests {
		if got := formatChange(tt.in, tt.unit); got != tt.want {
			t.Errorf("formatChange(%v, %q) = %q, want %q", tt.in, tt.unit, got, tt.want)
		}
	}
}

func TestFormatPeriod(t *testing.T) {
	// Period starts carry the workspace's zone, and the name must come from it.
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		start time.Time
		grain timegrain.Grain
		want  string
	}{
		{time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), timegrain.Day, "2026-03-09"},
		{time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), timegrain.Week, "week of 2026-03-09"},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, berlin), timegrain.Month, "Mar 2026"},
		{time.Date(2026, 10, 1, 0, 0, 0, 0, berlin), timegrain.Quarter, "Q4 2026"},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), timegrain.Quarter, "Q1 2026"},
	}
	for _, tt := range tests {
		if got := formatPeriod(tt.start, tt.grain); got != tt.want {
			t.Errorf("formatPeriod(%v, %s) = %q, want %q", tt.start, tt.grain, got, tt.want)
		}
	}
}

func TestFormatKPIValueNPSOneDecimal(t *testing.T) {
	nps := &kpi.KPI{Metric: kpi.Metric{Kind: kpi.NPS}}
	for _, tt := range []struct {
		v    float64
		want string
	}{{31.5, "31.5"}, {40, "40.0"}, {-12.345, "-12.3"}} {
		if got := formatKPIValue(&tt.v, nps); got != tt.want {
			t.Errorf("formatKPIValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	count := &kpi.KPI{Metric: kpi.Metric{Kind: kpi.Count}, Unit: "orders"}
	v := 40.0
	if got := formatKPIValue(&v, count); got != "40 orders" {
		t.Errorf("count = %q, want 40 orders", got)
	}
}
