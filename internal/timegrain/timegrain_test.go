package timegrain

import (
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load time zone %s: %v (install tzdata)", name, err)
	}
	return loc
}

// utc parses an RFC 3339 instant; every expectation below is written in UTC
// so that it does not depend on the code under test.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test instant %q: %v", s, err)
	}
	return v
}

func TestStart(t *testing.T) {
	newYork := mustLoad(t, "America/New_York")
	berlin := mustLoad(t, "Europe/Berlin")
	kolkata := mustLoad(t, "Asia/Kolkata")

	// 2026-03-15 is a Sunday. At 23:30 UTC it is still Sunday in UTC and New
	// York (19:30 EDT), but Monday 00:30 in Berlin (CET, +01:00) and Monday
	// 05:00 in Kolkata (+05:30).
	const lateSunday = "2026-03-15T23:30:00Z"

	tests := []struct {
		name string
		cal  Calendar
		g    Grain
		at   string
		want string
	}{
		{"utc day", UTC, Day, lateSunday, "2026-03-15T00:00:00Z"},
		{"utc week monday", UTC, Week, lateSunday, "2026-03-09T00:00:00Z"},
		{"utc week sunday", Calendar{time.UTC, time.Sunday}, Week, lateSunday, "2026-03-15T00:00:00Z"},
		{"utc month", UTC, Month, lateSunday, "2026-03-01T00:00:00Z"},
		{"utc quarter", UTC, Quarter, lateSunday, "2026-01-01T00:00:00Z"},
		{"nil location is utc", Calendar{WeekStart: time.Monday}, Day, lateSunday, "2026-03-15T00:00:00Z"},

		{"berlin day is monday", Calendar{berlin, time.Monday}, Day, lateSunday, "2026-03-15T23:00:00Z"},
		{"berlin week monday", Calendar{berlin, time.Monday}, Week, lateSunday, "2026-03-15T23:00:00Z"},
		{"berlin week sunday", Calendar{berlin, time.Sunday}, Week, lateSunday, "2026-03-14T23:00:00Z"},
		{"berlin month", Calendar{berlin, time.Monday}, Month, lateSunday, "2026-02-28T23:00:00Z"},

		{"kolkata day is monday", Calendar{kolkata, time.Monday}, Day, lateSunday, "2026-03-15T18:30:00Z"},
		{"kolkata week monday", Calendar{kolkata, time.Monday}, Week, lateSunday, "2026-03-15T18:30:00Z"},
		{"kolkata week sunday", Calendar{kolkata, time.Sunday}, Week, lateSunday, "2026-03-14T18:30:00Z"},
		{"kolkata month", Calendar{kolkata, time.Monday}, Month, lateSunday, "2026-02-28T18:30:00Z"},

		{"new york day is sunday", Calendar{newYork, time.Monday}, Day, lateSunday, "2026-03-15T04:00:00Z"},
		{"new york week monday", Calendar{newYork, time.Monday}, Week, lateSunday, "2026-03-09T04:00:00Z"},
		{"new york week sunday", Calendar{newYork, time.Sunday}, Week, lateSunday, "2026-03-15T04:00:00Z"},
		// March 1 is before the DST switch on March 8, so it starts at EST (-05:00).
		{"new york month", Calendar{newYork, time.Monday}, Month, lateSunday, "2026-03-01T05:00:00Z"},
		{"new york quarter", Calendar{newYork, time.Monday}, Quarter, lateSunday, "2026-01-01T05:00:00Z"},
		// 02:30 UTC on Monday March 16 is still Sunday evening in New York.
		{"new york early monday utc", Calendar{newYork, time.Monday}, Week, "2026-03-16T02:30:00Z", "2026-03-09T04:00:00Z"},

		{"week across new year monday", UTC, Week, "2027-01-01T12:00:00Z", "2026-12-28T00:00:00Z"},
		{"week across new year sunday", Calendar{time.UTC, time.Sunday}, Week, "2027-01-01T12:00:00Z", "2026-12-27T00:00:00Z"},
		{"week start on its first instant", UTC, Week, "2026-03-16T00:00:00Z", "2026-03-16T00:00:00Z"},
		{"week saturday start", Calendar{time.UTC, time.Saturday}, Week, "2026-03-20T10:00:00Z", "2026-03-14T00:00:00Z"},

		{"leap day", UTC, Day, "2028-02-29T12:00:00Z", "2028-02-29T00:00:00Z"},
		{"leap day month", UTC, Month, "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z"},
		{"january 31 month", UTC, Month, "2026-01-31T23:59:59Z", "2026-01-01T00:00:00Z"},

		{"quarter of november", UTC, Quarter, "2026-11-15T08:00:00Z", "2026-10-01T00:00:00Z"},
		{"quarter of october 1", UTC, Quarter, "2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z"},
		{"quarter of september 30", UTC, Quarter, "2026-09-30T23:59:59Z", "2026-07-01T00:00:00Z"},
		{"quarter of december 31 23:59", UTC, Quarter, "2026-12-31T23:59:00Z", "2026-10-01T00:00:00Z"},
		{"quarter of january 1", UTC, Quarter, "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"quarter of march", UTC, Quarter, "2026-03-31T12:00:00Z", "2026-01-01T00:00:00Z"},
		{"quarter of april", UTC, Quarter, "2026-04-01T12:00:00Z", "2026-04-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.Start(tt.g, utc(t, tt.at))
			if want := utc(t, tt.want); !got.Equal(want) {
				t.Errorf("Start(%s, %s) = %s, want %s", tt.g, tt.at, got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestStartInCalendarLocation(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	cal := Calendar{berlin, time.Monday}

	got := cal.Start(Day, utc(t, "2026-03-15T23:30:00Z"))

	if got.Location() != berlin {
		t.Errorf("location = %v, want Europe/Berlin", got.Location())
	}
	if h, m, _ := got.Clock(); h != 0 || m != 0 {
		t.Errorf("local clock = %02d:%02d, want 00:00", h, m)
	}
}

func TestNextAndPrevious(t *testing.T) {
	newYork := mustLoad(t, "America/New_York")
	ny := Calendar{newYork, time.Monday}
	nySunday := Calendar{newYork, time.Sunday}

	tests := []struct {
		name  string
		cal   Calendar
		g     Grain
		start string
		next  string
		hours float64 // length of [start, next)
	}{
		{"utc day", UTC, Day, "2026-03-15T00:00:00Z", "2026-03-16T00:00:00Z", 24},
		{"utc week", UTC, Week, "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z", 168},
		{"utc month 31 days", UTC, Month, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 31 * 24},
		{"utc month february", UTC, Month, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", 28 * 24},
		{"leap february", UTC, Month, "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z", 29 * 24},
		{"leap day", UTC, Day, "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z", 24},
		{"day before leap day", UTC, Day, "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z", 24},
		{"utc december", UTC, Month, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", 31 * 24},
		{"utc quarter 4", UTC, Quarter, "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z", 92 * 24},
		{"utc quarter 1", UTC, Quarter, "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", 90 * 24},
		{"leap quarter 1", UTC, Quarter, "2028-01-01T00:00:00Z", "2028-04-01T00:00:00Z", 91 * 24},

		// 2026-03-08: clocks in New York go from 02:00 EST to 03:00 EDT.
		{"dst spring day 23h", ny, Day, "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 23},
		{"day after spring dst", ny, Day, "2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z", 24},
		{"dst spring week", ny, Week, "2026-03-02T05:00:00Z", "2026-03-09T04:00:00Z", 167},
		{"dst spring week sunday start", nySunday, Week, "2026-03-08T05:00:00Z", "2026-03-15T04:00:00Z", 167},
		{"dst spring month", ny, Month, "2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z", 31*24 - 1},
		// 2026-11-01: clocks in New York go from 02:00 EDT back to 01:00 EST.
		{"dst autumn day 25h", ny, Day, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25},
		{"dst autumn week", nySunday, Week, "2026-11-01T04:00:00Z", "2026-11-08T05:00:00Z", 169},
		{"dst autumn quarter", ny, Quarter, "2026-10-01T04:00:00Z", "2027-01-01T05:00:00Z", 92*24 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, next := utc(t, tt.start), utc(t, tt.next)

			gotNext := tt.cal.Next(tt.g, start)
			if !gotNext.Equal(next) {
				t.Errorf("Next(%s, %s) = %s, want %s", tt.g, tt.start, gotNext.UTC().Format(time.RFC3339), tt.next)
			}
			if got := gotNext.Sub(start).Hours(); got != tt.hours {
				t.Errorf("period length = %gh, want %gh", got, tt.hours)
			}

			gotPrev := tt.cal.Previous(tt.g, next)
			if !gotPrev.Equal(start) {
				t.Errorf("Previous(%s, %s) = %s, want %s", tt.g, tt.next, gotPrev.UTC().Format(time.RFC3339), tt.start)
			}
		})
	}
}

// Next and Previous of a month's last day still land on a month start. A
// naive AddDate(0, 1, 0) on January 31 would give March 3.
func TestNextPreviousFromMidPeriod(t *testing.T) {
	tests := []struct {
		name string
		got  func() time.Time
		want string
	}{
		{"next month from jan 31", func() time.Time { return UTC.Next(Month, utc(t, "2026-01-31T00:00:00Z")) }, "2026-02-01T00:00:00Z"},
		{"previous month from mar 31", func() time.Time { return UTC.Previous(Month, utc(t, "2026-03-31T00:00:00Z")) }, "2026-02-01T00:00:00Z"},
		{"previous month from jan", func() time.Time { return UTC.Previous(Month, utc(t, "2026-01-01T00:00:00Z")) }, "2025-12-01T00:00:00Z"},
		{"next quarter after start of nov 30", func() time.Time { return UTC.Next(Quarter, UTC.Start(Quarter, utc(t, "2026-11-30T00:00:00Z"))) }, "2027-01-01T00:00:00Z"},
		{"previous quarter from jan", func() time.Time { return UTC.Previous(Quarter, utc(t, "2026-01-01T00:00:00Z")) }, "2025-10-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.got(), utc(t, tt.want); !got.Equal(want) {
				t.Errorf("got %s, want %s", got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestPeriods(t *testing.T) {
	newYork := mustLoad(t, "America/New_York")
	ny := Calendar{newYork, time.Monday}

	type period struct {
		start, end, cutoff string
		partial            bool
	}
	tests := []struct {
		name     string
		cal      Calendar
		g        Grain
		from, to string
		want     []period
	}{
		{
			name: "months with partial last",
			cal:  UTC, g: Month,
			from: "2026-01-15T00:00:00Z", to: "2026-03-10T12:00:00Z",
			want: []period{
				{"2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", false},
				{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", false},
				{"2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-03-10T12:00:00Z", true},
			},
		},
		{
			name: "to on a boundary is not partial",
			cal:  UTC, g: Month,
			from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z",
			want: []period{
				{"2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", false},
				{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", false},
			},
		},
		{
			name: "new york days over dst",
			cal:  ny, g: Day,
			from: "2026-03-07T05:00:00Z", to: "2026-03-09T16:00:00Z",
			want: []period{
				{"2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z", "2026-03-08T05:00:00Z", false},
				{"2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", "2026-03-09T04:00:00Z", false},
				{"2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z", "2026-03-09T16:00:00Z", true},
			},
		},
		{
			name: "quarters over a year end",
			cal:  UTC, g: Quarter,
			from: "2026-11-20T00:00:00Z", to: "2027-02-01T00:00:00Z",
			want: []period{
				{"2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z", false},
				{"2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z", "2027-02-01T00:00:00Z", true},
			},
		},
		{
			name: "one partial week",
			cal:  Calendar{time.UTC, time.Sunday}, g: Week,
			from: "2026-03-17T00:00:00Z", to: "2026-03-18T00:00:00Z",
			want: []period{
				{"2026-03-15T00:00:00Z", "2026-03-22T00:00:00Z", "2026-03-18T00:00:00Z", true},
			},
		},
		{"empty range", UTC, Day, "2026-03-10T00:00:00Z", "2026-03-10T00:00:00Z", nil},
		{"reversed range", UTC, Day, "2026-03-10T00:00:00Z", "2026-03-01T00:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.Periods(tt.g, utc(t, tt.from), utc(t, tt.to))

			if len(got) != len(tt.want) {
				t.Fatalf("got %d periods, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				p := got[i]
				if !p.Start.Equal(utc(t, w.start)) {
					t.Errorf("period %d: Start = %s, want %s", i, p.Start.UTC().Format(time.RFC3339), w.start)
				}
				if !p.End.Equal(utc(t, w.end)) {
					t.Errorf("period %d: End = %s, want %s", i, p.End.UTC().Format(time.RFC3339), w.end)
				}
				if !p.Cutoff.Equal(utc(t, w.cutoff)) {
					t.Errorf("period %d: Cutoff = %s, want %s", i, p.Cutoff.UTC().Format(time.RFC3339), w.cutoff)
				}
				if p.Partial != w.partial {
					t.Errorf("period %d: Partial = %v, want %v", i, p.Partial, w.partial)
				}
			}
		})
	}
}

func TestParseGrain(t *testing.T) {
	good := []struct {
		in   string
		want Grain
	}{
		{"day", Day},
		{"Week", Week},
		{" MONTH ", Month},
		{"quarter", Quarter},
	}
	for _, tt := range good {
		got, err := ParseGrain(tt.in)
		if err != nil {
			t.Errorf("ParseGrain(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseGrain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	for _, in := range []string{"", "year", "days", "d", "hour"} {
		_, err := ParseGrain(in)
		if err == nil {
			t.Errorf("ParseGrain(%q): no error", in)
			continue
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseGrain(%q) error %q does not quote the input", in, err)
		}
		if !strings.Contains(err.Error(), "day, week, month or quarter") {
			t.Errorf("ParseGrain(%q) error %q does not list the grains", in, err)
		}
	}
}

func TestParseWeekday(t *testing.T) {
	good := []struct {
		in   string
		want time.Weekday
	}{
		{"monday", time.Monday},
		{"Sunday", time.Sunday},
		{"Sun", time.Sunday},
		{" TUESDAY ", time.Tuesday},
		{"thu", time.Thursday},
		{"satur", time.Saturday},
	}
	for _, tt := range good {
		got, err := ParseWeekday(tt.in)
		if err != nil {
			t.Errorf("ParseWeekday(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseWeekday(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}

	// Two letters are too few: "tu" and "th", "sa" and "su" would be ambiguous.
	for _, in := range []string{"", "mo", "su", "funday", "sundays", "1"} {
		_, err := ParseWeekday(in)
		if err == nil {
			t.Errorf("ParseWeekday(%q): no error", in)
			continue
		}
		if !strings.Contains(err.Error(), "not a weekday") {
			t.Errorf("ParseWeekday(%q) error = %q, want it to say not a weekday", in, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	good := []struct {
		in   string
		want Date
	}{
		{"2026-03-08", Date{2026, time.March, 8}},
		{" 2028-02-29 ", Date{2028, time.February, 29}},
		{"1970-01-01", Date{1970, time.January, 1}},
	}
	for _, tt := range good {
		got, err := ParseDate(tt.in)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseDate(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}

	for _, in := range []string{"", "2027-13-01", "2027-02-29", "2026-04-31", "2026-3-8", "08/03/2026", "2026-03-08T00:00:00Z", "tomorrow"} {
		_, err := ParseDate(in)
		if err == nil {
			t.Errorf("ParseDate(%q): no error", in)
			continue
		}
		if !strings.Contains(err.Error(), "want YYYY-MM-DD") {
			t.Errorf("ParseDate(%q) error = %q, want it to say want YYYY-MM-DD", in, err)
		}
	}
}

func TestDate(t *testing.T) {
	kolkata := mustLoad(t, "Asia/Kolkata")
	d := Date{2028, time.February, 29}

	if got := d.String(); got != "2028-02-29" {
		t.Errorf("String() = %q, want 2028-02-29", got)
	}
	if got := (Date{7, time.January, 2}).String(); got != "0007-01-02" {
		t.Errorf("String() of year 7 = %q, want 0007-01-02", got)
	}
	if got, want := d.In(kolkata), utc(t, "2028-02-28T18:30:00Z"); !got.Equal(want) {
		t.Errorf("In(Asia/Kolkata) = %s, want %s", got.UTC().Format(time.RFC3339), want.Format(time.RFC3339))
	}
	if d.IsZero() {
		t.Error("IsZero() of a set date = true")
	}
	if !(Date{}).IsZero() {
		t.Error("IsZero() of Date{} = false")
	}

	// 23:30 UTC on 2026-03-15 is already March 16 in Kolkata.
	if got := DateOf(utc(t, "2026-03-15T23:30:00Z").In(kolkata)); got != (Date{2026, time.March, 16}) {
		t.Errorf("DateOf in Kolkata = %v, want 2026-03-16", got)
	}
}
