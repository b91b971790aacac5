package ingest

import (
	"strings"
	"testing"
	"time"
)

func mustLoadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load time zone %q: %v", name, err)
	}
	return loc
}

func TestParseTimestampForms(t *testing.T) {
	berlin := mustLoadLocation(t, "Europe/Berlin")
	newYork := mustLoadLocation(t, "America/New_York")

	// Expected instants are written in UTC by hand. Berlin is UTC+1 in winter
	// and UTC+2 from the last Sunday of March (2021-03-28) to the last Sunday
	// of October. New York is UTC-4 until 2021-11-07 and UTC-5 after.
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2009-01-11", time.UTC, time.Date(2009, 1, 11, 0, 0, 0, 0, time.UTC)},
		{" 2009-01-11 ", time.UTC, time.Date(2009, 1, 11, 0, 0, 0, 0, time.UTC)},
		{"2009-01-11", berlin, time.Date(2009, 1, 10, 23, 0, 0, 0, time.UTC)},
		{"2021-07-01", berlin, time.Date(2021, 6, 30, 22, 0, 0, 0, time.UTC)},
		{"2021-03-27 12:00", berlin, time.Date(2021, 3, 27, 11, 0, 0, 0, time.UTC)},
		{"2021-03-28 03:30", berlin, time.Date(2021, 3, 28, 1, 30, 0, 0, time.UTC)},
		{"2021-10-31 12:00", newYork, time.Date(2021, 10, 31, 16, 0, 0, 0, time.UTC)},
		{"2021-11-08 12:00", newYork, time.Date(2021, 11, 8, 17, 0, 0, 0, time.UTC)},
		{"2009-01-11 14:03", time.UTC, time.Date(2009, 1, 11, 14, 3, 0, 0, time.UTC)},
		{"2009-01-11T14:03", time.UTC, time.Date(2009, 1, 11, 14, 3, 0, 0, time.UTC)},
		{"2009-01-11 14:03:07", time.UTC, time.Date(2009, 1, 11, 14, 3, 7, 0, time.UTC)},
		{"2009-01-11T14:03:07Z", berlin, time.Date(2009, 1, 11, 14, 3, 7, 0, time.UTC)},
		{"2009-01-11T14:03:07+01:00", time.UTC, time.Date(2009, 1, 11, 13, 3, 7, 0, time.UTC)},
		{"2009-01-11T14:03:07.123456+0530", time.UTC, time.Date(2009, 1, 11, 8, 33, 7, 123456000, time.UTC)},
		{"2009-01-11T14:03:07,5Z", time.UTC, time.Date(2009, 1, 11, 14, 3, 7, 500000000, time.UTC)},
		{"2009-01-11 14:03:07-05", berlin, time.Date(2009, 1, 11, 19, 3, 7, 0, time.UTC)},
		{"2009-01-11 14:03:07 +0100", time.UTC, time.Date(2009, 1, 11, 13, 3, 7, 0, time.UTC)},
		{"2009-01-11 14:03:07.25", berlin, time.Date(2009, 1, 11, 13, 3, 7, 250000000, time.UTC)},
		{"1/11/2009", time.UTC, time.Date(2009, 1, 11, 0, 0, 0, 0, time.UTC)},
		{"01/11/2009 14:03:00", time.UTC, time.Date(2009, 1, 11, 14, 3, 0, 0, time.UTC)},
		{"1/11/2009 9:03", time.UTC, time.Date(2009, 1, 11, 9, 3, 0, 0, time.UTC)},
		{"1/11/2009 2:03 PM", time.UTC, time.Date(2009, 1, 11, 14, 3, 0, 0, time.UTC)},
		{"1/11/2009 12:15:30 am", time.UTC, time.Date(2009, 1, 11, 0, 15, 30, 0, time.UTC)},
		{"7/1/2021", newYork, time.Date(2021, 7, 1, 4, 0, 0, 0, time.UTC)},
		{"2009/1/11 14:03", time.UTC, time.Date(2009, 1, 11, 14, 3, 0, 0, time.UTC)},
		{"11.01.2009", time.UTC, time.Date(2009, 1, 11, 0, 0, 0, 0, time.UTC)},
		{"11.1.2009 14:03", berlin, time.Date(2009, 1, 11, 13, 3, 0, 0, time.UTC)},
		{"1231632180", berlin, time.Date(2009, 1, 11, 0, 3, 0, 0, time.UTC)},
		{"987654321", time.UTC, time.Date(2001, 4, 19, 4, 25, 21, 0, time.UTC)},
		{"1231632180123", time.UTC, time.Date(2009, 1, 11, 0, 3, 0, 123000000, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p := timestampParser{loc: tt.loc}
			got, err := p.parse(tt.in)
			if err != nil {
				t.Fatalf("parse(%q) in %s: %v", tt.in, tt.loc, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("parse(%q) in %s = %s, want %s", tt.in, tt.loc, got, tt.want)
			}
			if pub, err := ParseTimestamp(tt.in, tt.loc); err != nil || pub.Location() != time.UTC {
				t.Errorf("ParseTimestamp(%q) = %s, %v; want it in UTC", tt.in, pub, err)
			}
		})
	}
}

func TestParseTimestampMixedFormsInOneColumn(t *testing.T) {
	p := timestampParser{loc: time.UTC}
	inputs := []string{"2009-01-11", "1/12/2009", "2009-01-13 10:00", "14.01.2009", "2009-01-15"}
	for i, in := range inputs {
		got, err := p.parse(in)
		if err != nil {
			t.Fatalf("parse(%q): %v", in, err)
		}
		if got.Day() != 11+i {
			t.Errorf("parse(%q) day = %d, want %d", in, got.Day(), 11+i)
		}
	}
}

func TestParseTimestampRejects(t *testing.T) {
	tests := []struct {
		in         string
		wantReason string // "" when the value matches no form at all
	}{
		{"2009-13-45", "month out of range"},
		{"2009-02-30", "day out of range"},
		{"2009-01-11 25:00", "hour out of range"},
		{"13/13/2009", "month out of range"},
		{"20090111", "needs 9 or 10 digits"},
		{"1", "needs 9 or 10 digits"},
		{"yesterday", ""},
		{"11-01-2009", ""},
		{"2009-1-11", ""},
		{"2009-01-11 14:03 CET", ""},
		{"-1231632180", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p := timestampParser{loc: time.UTC}
			got, err := p.parse(tt.in)
			if err == nil {
				t.Fatalf("parse(%q) = %s, want an error", tt.in, got)
			}
			if tt.wantReason == "" && err != errNotTimestamp {
				t.Errorf("parse(%q) error = %q, want errNotTimestamp", tt.in, err)
			}
			if tt.wantReason != "" && !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("parse(%q) error = %q, want it to contain %q", tt.in, err, tt.wantReason)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"1234.5", 1234.5},
		{" 42 ", 42},
		{"-3", -3},
		{"+3", 3},
		{"0", 0},
		{".5", 0.5},
		{"5.", 5},
		{"1.5e3", 1500},
		{"2E-2", 0.02},
		{"16.760000000000002", 16.760000000000002},
		{"1,234", 1234},
		{"1,234,567.25", 1234567.25},
		{"$1,234.50", 1234.5},
		{"€12", 12},
		{"£0.99", 0.99},
		{"-$5", -5},
		{"$-5", -5},
	}
	for _, tt := range tests {
		got, ok := parseNumber(tt.in)
		if !ok {
			t.Errorf("parseNumber(%q) failed, want %v", tt.in, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("parseNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseNumberRejects(t *testing.T) {
	for _, in := range []string{
		"12,5", "1,23,456", "1234,567", ",123", "1,234.5,6", "abc", "ten", "$", "-", "--5", "$$5",
		"NaN", "Inf", "-Infinity", "1_000", "0x10", "1e999", "5%", "1.2.3", "e5", "USD 5", "5 $",
	} {
		if got, ok := parseNumber(in); ok {
			t.Errorf("parseNumber(%q) = %v, want a failure", in, got)
		}
	}
}

func TestParsePropMapping(t *testing.T) {
	tests := []struct {
		spec string
		want PropMapping
	}{
		{"revenue=TotalCharges:number", PropMapping{Name: "revenue", Column: "TotalCharges", Number: true}},
		{"pickup=PupId", PropMapping{Name: "pickup", Column: "PupId"}},
		{"note=Why: the answer", PropMapping{Name: "note", Column: "Why: the answer"}},
		{"x=a=b", PropMapping{Name: "x", Column: "a=b"}},
	}
	for _, tt := range tests {
		got, err := ParsePropMapping(tt.spec)
		if err != nil {
			t.Errorf("ParsePropMapping(%q): %v", tt.spec, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParsePropMapping(%q) = %+v, want %+v", tt.spec, got, tt.want)
		}
	}

	for _, spec := range []string{"revenue", "=TotalCharges", "revenue=", "revenue=:number"} {
		if got, err := ParsePropMapping(spec); err == nil {
			t.Errorf("ParsePropMapping(%q) = %+v, want an error", spec, got)
		}
	}
}
