package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// memoryMeasurements is an in-memory MeasurementWriter that, like the SQL
// stores, keeps one measurement per (Source, MessageID).
type memoryMeasurements struct {
	measurements []store.Measurement
	keys         map[string]bool
}

func (m *memoryMeasurements) InsertMeasurements(_ context.Context, batch []store.Measurement) (store.InsertResult, error) {
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	var res store.InsertResult
	for _, ms := range batch {
		key := ms.Source + "\x00" + ms.MessageID
		if m.keys[key] {
			res.Duplicates++
			continue
		}
		m.keys[key] = true
		m.measurements = append(m.measurements, ms)
		res.Inserted++
	}
	return res, nil
}

var _ MeasurementWriter = (*memoryMeasurements)(nil)

const adSpendCSV = "Date,Channel,Spend\n" +
	"2026-01-01,search,120.50\n" +
	"2026-01-01, social ,\"$1,040\"\n" +
	"2026-01-02,,80\n" + // no channel
	"2026-01-02,search,120.50\n"

func adSpendOptions() MeasurementCSVOptions {
	return MeasurementCSVOptions{
		Series: "ad_spend", TimeColumn: "Date", ValueColumn: "Spend",
		Dimensions: []DimensionMapping{{Name: "channel", Column: "channel"}},
		Now:        fixedClock(),
	}
}

func TestImportMeasurementsCSV(t *testing.T) {
	w := &memoryMeasurements{}

	summary, err := ImportMeasurementsCSV(context.Background(), strings.NewReader(adSpendCSV), adSpendOptions(), w)
	if err != nil {
		t.Fatal(err)
	}

	if summary.RowsRead != 4 || summary.Imported != 4 || summary.Skipped != 0 {
		t.Errorf("summary = %+v, want 4 rows read and imported", summary)
	}
	want := []struct {
		at      time.Time
		value   float64
		channel string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 120.5, "search"},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1040, "social"},
		{time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 80, ""},
		{time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 120.5, "search"},
	}
	if len(w.measurements) != len(want) {
		t.Fatalf("stored %d measurements, want %d", len(w.measurements), len(want))
	}
	for i, m := range w.measurements {
		if m.Series != "ad_spend" || !m.Timestamp.Equal(want[i].at) || m.Value != want[i].value || m.Dimensions["channel"] != want[i].channel {
			t.Errorf("measurement %d = %s %s %g %v, want ad_spend %s %g channel %q",
				i, m.Series, m.Timestamp, m.Value, m.Dimensions, want[i].at, want[i].value, want[i].channel)
		}
		if m.Source != CSVSource || len(m.MessageID) != 64 {
			t.Errorf("measurement %d source %q, message ID %q; want csv and 64 hex digits", i, m.Source, m.MessageID)
		}
	}
	if len(w.measurements[2].Dimensions) != 0 {
		t.Errorf("a row with an empty channel has dimensions %v, want none", w.measurements[2].Dimensions)
	}

	again, err := ImportMeasurementsCSV(context.Background(), strings.NewReader(adSpendCSV), adSpendOptions(), w)
	if err != nil {
		t.Fatal(err)
	}
	if again.Imported != 0 || again.Duplicates != 4 {
		t.Errorf("second import = %+v, want 4 duplicates", again)
	}

	// The same cells under another series are other measurements.
	other := adSpendOptions()
	other.Series = "ad_spend_eu"
	third, err := ImportMeasurementsCSV(context.Background(), strings.NewReader(adSpendCSV), other, w)
	if err != nil {
		t.Fatal(err)
	}
	if third.Imported != 4 {
		t.Errorf("import under another series = %+v, want 4 imported", third)
	}
}

func TestImportMeasurementsCSVBadRows(t *testing.T) {
	input := "Date,Channel,Spend\n" +
		"2026-01-01,search,10\n" +
		"2026-01-32,search,10\n" + // line 3
		"2026-01-02,search,\n" + // line 4
		"2026-01-02,search,ten\n" + // line 5
		"2026-01-03,search\n" + // line 6
		"2026-01-04,search,12\n"

	w := &memoryMeasurements{}
	summary, err := ImportMeasurementsCSV(context.Background(), strings.NewReader(input), adSpendOptions(), w)
	if err != nil {
		t.Fatal(err)
	}

	if summary.Imported != 2 || summary.Skipped != 4 {
		t.Errorf("summary = %+v, want 2 imported and 4 skipped", summary)
	}
	wantReasons := map[int]string{
		3: `column "Date": "2026-01-32" is not a valid date or time`,
		4: `column "Spend" is empty, but it must hold the value`,
		5: `column "Spend": "ten" is not a number`,
		6: "has 2 fields, but the header has 3",
	}
	for _, row := range summary.BadRows {
		if want := wantReasons[row.Line]; want == "" || !strings.Contains(row.Reason, want) {
			t.Errorf("bad row at line %d: %q, want %q", row.Line, row.Reason, want)
		}
	}

	strict := adSpendOptions()
	strict.Strict = true
	w = &memoryMeasurements{}
	_, err = ImportMeasurementsCSV(context.Background(), strings.NewReader(input), strict, w)
	if kpi.ErrorCode(err) != kpi.EINVALID || !strings.Contains(err.Error(), "line 3:") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("strict error = %v, want line 3 and nothing imported", err)
	}
	if len(w.measurements) != 0 {
		t.Errorf("strict import stored %d measurements, want 0", len(w.measurements))
	}
}

func TestImportMeasurementsCSVMissingColumns(t *testing.T) {
	opts := adSpendOptions()
	opts.ValueColumn = "Cost"
	opts.Dimensions = append(opts.Dimensions, DimensionMapping{Name: "country", Column: "Country"})

	_, err := ImportMeasurementsCSV(context.Background(), strings.NewReader(adSpendCSV), opts, &memoryMeasurements{})

	if kpi.ErrorCode(err) != kpi.EINVALID {
		t.Fatalf("error = %v, want invalid", err)
	}
	for _, want := range []string{`value column "Cost" is not in the header`, `column of dimension "country", "Country" is not in the header`, `"Date", "Channel", "Spend"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestImportMeasurementsCSVOptions(t *testing.T) {
	_, err := ImportMeasurementsCSV(context.Background(), strings.NewReader(adSpendCSV), MeasurementCSVOptions{TimeColumn: "Date"}, &memoryMeasurements{})
	if err == nil || !strings.Contains(err.Error(), "the series name is missing; the value column is missing") {
		t.Errorf("error = %v, want the missing series and value column", err)
	}
}

func TestParseDimensionMapping(t *testing.T) {
	got, err := ParseDimensionMapping("channel=Channel")
	if err != nil || got != (DimensionMapping{Name: "channel", Column: "Channel"}) {
		t.Errorf("ParseDimensionMapping(channel=Channel) = %+v, %v", got, err)
	}
	for _, spec := range []string{"channel", "=Channel", "channel=", `a"b=Channel`} {
		if got, err := ParseDimensionMapping(spec); kpi.ErrorCode(err) != kpi.EINVALID {
			t.Errorf("ParseDimensionMapping(%q) = %+v, %v; want an invalid error", spec, got, err)
		}
	}
}
