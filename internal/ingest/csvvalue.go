package ingest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TimestampForms describes the timestamp forms that ImportCSV accepts, for
// error messages and help text.
const TimestampForms = "YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS[.fraction]] with 'T' or a space " +
	"and an optional offset (Z, +01:00, +0100, +01), M/D/YYYY [H:MM[:SS] [AM|PM]], " +
	"YYYY/M/D [H:MM[:SS]], D.M.YYYY [H:MM[:SS]], or Unix time in seconds (9 or 10 digits) " +
	"or milliseconds (12 or 13 digits)"

// timestampHint is the short list of TimestampForms for bad-row messages,
// which may repeat many times.
const timestampHint = "YYYY-MM-DD [HH:MM[:SS]], RFC 3339, M/D/YYYY, D.M.YYYY or Unix seconds"

// Layouts for time.ParseInLocation, grouped by the separator that follows the
// first run of digits. Seconds may carry a fraction even where the layout has
// none, because time.Parse accepts one after the seconds field.
var (
	isoLayouts   = isoDateTimeLayouts()
	slashLayouts = append(
		withTimes("1/2/2006", " 15:04:05", " 15:04", " 3:04:05 PM", " 3:04 PM"),
		withTimes("2006/1/2", " 15:04:05", " 15:04")...,
	)
	dotLayouts = withTimes("2.1.2006", " 15:04:05", " 15:04")
)

// withTimes returns date alone and date followed by each of the time layouts.
func withTimes(date string, times ...string) []string {
	layouts := []string{date}
	for _, t := range times {
		layouts = append(layouts, date+t)
	}
	return layouts
}

// isoDateTimeLayouts returns the ISO 8601 date, and the date with a time
// (after 'T' or a space) and each accepted offset form.
func isoDateTimeLayouts() []string {
	layouts := []string{"2006-01-02"}
	for _, sep := range []string{"T", " "} {
		for _, clock := range []string{"15:04:05", "15:04"} {
			for _, offset := range []string{"", "Z07:00", "Z0700", "Z07", " Z07:00", " Z0700", " Z07"} {
				layouts = append(layouts, "2006-01-02"+sep+clock+offset)
			}
		}
	}
	return layouts
}

// ParseTimestamp parses s in one of the forms that CSV import accepts (see
// TimestampForms), reading a value without an offset in loc.
func ParseTimestamp(s string, loc *time.Location) (time.Time, error) {
	p := timestampParser{loc: loc}
	t, err := p.parse(s)
	if errors.Is(err, errNotTimestamp) {
		return time.Time{}, fmt.Errorf("%q is not a date or time (want %s)", s, timestampHint)
	}
	return t.UTC(), err
}

// timestampParser parses timestamp cells. It tries the layout that matched
// last time first, because a column nearly always uses a single form.
type timestampParser struct {
	loc        *time.Location
	lastLayout string
}

// parse returns the time written in cell, in the zone it was read in, so its
// clock reads as written. Values without an offset are read in p.loc, and a
// date without a time is midnight there.
func (p *timestampParser) parse(cell string) (time.Time, error) {
	s := strings.TrimSpace(cell)

	if p.lastLayout != "" {
		if t, err := time.ParseInLocation(p.lastLayout, s, p.loc); err == nil {
			return t, nil
		}
	}

	var layouts []string
	switch separatorAfterDigits(s) {
	case '-':
		layouts = isoLayouts
	case '/':
		layouts = slashLayouts
		s = strings.ToUpper(s) // "pm" as well as "PM"
	case '.':
		layouts = dotLayouts
	case 0:
		return parseUnixTime(s)
	default:
		return time.Time{}, errNotTimestamp
	}

	rangeErr := error(nil)
	for _, layout := range layouts {
		t, err := time.ParseInLocation(layout, s, p.loc)
		if err == nil {
			p.lastLayout = layout
			return t, nil
		}

		// A range error ("day out of range") means the form was right but the
		// date does not exist, which is worth telling the user.
		var pe *time.ParseError
		if rangeErr == nil && errors.As(err, &pe) && strings.Contains(pe.Message, "out of range") {
			rangeErr = errors.New(strings.TrimPrefix(pe.Message, ": "))
		}
	}
	if rangeErr != nil {
		return time.Time{}, rangeErr
	}
	return time.Time{}, errNotTimestamp
}

// errNotTimestamp means a cell matches none of the TimestampForms.
var errNotTimestamp = errors.New("not a timestamp")

// separatorAfterDigits returns the byte after the leading digits of s: 0 when s
// is all digits, and 1 when s is empty or does not start with a digit.
func separatorAfterDigits(s string) byte {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 1
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s[i]
		}
	}
	return 0
}

// parseUnixTime reads an all-digit value as Unix seconds or milliseconds. The
// digit count decides, so both cover 1973-03-03 to 2286-11-20. Other lengths
// are rejected, because a value such as 20090111 (YYYYMMDD) would otherwise be
// read as a second in 1970.
func parseUnixTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, errNotTimestamp
	}

	switch len(s) {
	case 9, 10:
		return time.Unix(n, 0).UTC(), nil
	case 12, 13:
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("an all-digit value is read as Unix time and needs 9 or 10 digits (seconds) or 12 or 13 (milliseconds), not %d", len(s))
}

// NumberForms describes the numbers that ImportCSV accepts in a number
// property, for error messages and help text.
const NumberForms = "a decimal such as 1234.5, -3, 1.5e3 or $1,234.50: an optional sign, " +
	"an optional leading $, € or £, commas only between groups of three digits, and a point as decimal separator"

// numberHint is the short form of NumberForms for bad-row messages.
const numberHint = "a decimal such as 1234.5, -3 or $1,234.50"

// currencySymbols are the leading symbols that parseNumber drops.
var currencySymbols = []string{"$", "€", "£"}

// decimalPattern matches what is left of a number once its sign, currency
// symbol and thousands separators are removed.
var decimalPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// parseNumber parses cell as described by NumberForms. It rejects a comma
// that does not separate groups of three digits, so a decimal comma such as
// "12,5" is an error and not 125.
func parseNumber(cell string) (float64, bool) {
	s := strings.TrimSpace(cell)

	sign := ""
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		sign, s = s[:1], s[1:]
	}
	for _, symbol := range currencySymbols {
		if rest, ok := strings.CutPrefix(s, symbol); ok {
			s = rest
			break
		}
	}
	if sign == "" && (strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")) {
		sign, s = s[:1], s[1:] // "$-5"
	}

	integerEnd := strings.IndexAny(s, ".eE")
	if integerEnd < 0 {
		integerEnd = len(s)
	}
	integer, ok := removeThousandsSeparators(s[:integerEnd])
	if !ok {
		return 0, false
	}
	s = integer + s[integerEnd:]

	if !decimalPattern.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(sign+s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// removeThousandsSeparators removes the commas from the integer part of a
// number, and reports false unless every comma is followed by exactly three
// digits and the first group has one to three digits.
func removeThousandsSeparators(integer string) (string, bool) {
	if !strings.Contains(integer, ",") {
		return integer, true
	}

	groups := strings.Split(integer, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}
