package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func f(v float64) *float64 { return &v }

func TestValueFormatting(t *testing.T) {
	tests := []struct {
		value *float64
		unit  string
		want  string
	}{
		{nil, "USD", "–"},
		{f(1234567.891), "USD", "$1,234,568"},
		{f(64.514), "USD", "$64.51"},
		{f(999.5), "EUR", "€999.50"},
		{f(-2500), "GBP", "−£2,500"},
		{f(-0.5), "", "−0.50"},
		{f(42), "%", "42%"},
		{f(130), "customers", "130"},
	}
	for _, tt := range tests {
		if got := Value(tt.value, tt.unit); got != tt.want {
			t.Errorf("Value(%v, %q) = %q, want %q", deref(tt.value), tt.unit, got, tt.want)
		}
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func TestChangeFormatting(t *testing.T) {
	tests := []struct {
		change *float64
		unit   string
		want   string
	}{
		{nil, "%", "–"},
		{f(12.345), "%", "+12.3%"},
		{f(-3.12), "%", "−3.1%"},
		{f(0), "%", "0.0%"},
		{f(25), "pp", "+25.0pp"},
	}
	for _, tt := range tests {
		if got := Change(tt.change, tt.unit); got != tt.want {
			t.Errorf("Change(%v, %q) = %q, want %q", deref(tt.change), tt.unit, got, tt.want)
		}
	}
}

func TestWriteCSVColumnsAndEmptyCells(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2010, 3, 1, 0, 0, 0, 0, ny)
	items := []Item{{
		KPI: &kpi.KPI{ID: "aov", Name: "Average order value", Unit: "USD"},
		Series: &engine.Series{KPI: "aov", Grain: timegrain.Month, ChangeUnit: "%", Points: []engine.Point{
			// 16.760000000000002 is how the source data stores some totals.
			{Start: start, Value: f(16.760000000000002), Previous: f(20), Change: f(-16.2), Target: nil, Status: kpi.NoTarget, Partial: true},
			{Start: start.AddDate(0, 1, 0), NoValueReason: "division by zero", Status: kpi.NoData},
		}},
	}}

	var buf bytes.Buffer
	if err := Write(&buf, CSV, items, ny); err != nil {
		t.Fatal(err)
	}

	want := "kpi,period_start,value,previous,change,target,status,partial,grain\n" +
		"aov,2010-03-01,16.76,20,-16.2,,no_target,true,month\n" +
		"aov,2010-04-01,,,,,no_data,false,month\n"
	if got := buf.String(); got != want {
		t.Errorf("CSV =\n%s\nwant\n%s", got, want)
	}
}

func TestWriteTableShowsReasonAndPartial(t *testing.T) {
	start := time.Date(2010, 3, 1, 0, 0, 0, 0, time.UTC)
	items := []Item{{
		KPI: &kpi.KPI{ID: "aov", Name: "Average order value", Unit: "USD"},
		Series: &engine.Series{KPI: "aov", Grain: timegrain.Month, ChangeUnit: "%", Points: []engine.Point{
			{Start: start, NoValueReason: "division by zero", Status: kpi.NoData, Partial: true},
		}},
	}}

	var buf bytes.Buffer
	if err := Write(&buf, Table, items, time.UTC); err != nil {
		t.Fatal(err)
	}

	out := buf.String()
	for _, want := range []string{"aov — Average order value (USD), by month", "2010-03-01 (partial)", "– (division by zero)", "no data"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestParseFormatRejectsUnknown(t *testing.T) {
	if _, err := ParseFormat("xml"); kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("ParseFormat(xml) error = %v, want EINVALID", err)
	}
}
