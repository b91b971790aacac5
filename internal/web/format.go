package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// currencySymbols maps the currency units that are shown as a symbol before
// the value.
var currencySymbols = map[string]string{
	"USD": "$",
	"EUR": "€",
	"GBP": "£",
}

// noValue is shown where a value is missing.
const noValue = "–"

// formatNumber formats v with thousands separators and at most two decimals,
// dropping trailing zeros: 1234567.891 becomes "1,234,567.89".
func formatNumber(v float64) string {
	return formatDecimals(v, 2, false)
}

// formatDecimals formats v rounded to the given number of decimals, with
// thousands separators. Unless fixed is set, trailing zeros are dropped.
func formatDecimals(v float64, decimals int, fixed bool) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return noValue
	}

	s := strconv.FormatFloat(v, 'f', decimals, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}

	whole, frac, _ := strings.Cut(s, ".")
	if !fixed {
		frac = strings.TrimRight(frac, "0")
	}
	if strings.Trim(whole+frac, "0") == "" {
		sign = "" // no "-0" for a value that rounds to zero
	}

	out := sign + groupThousands(whole)
	if frac != "" {
		out += "." + frac
	}
	return out
}

// groupThousands inserts a comma every three digits from the right.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// formatValue formats v in the KPI's unit: "$1,234.50" for a currency,
// "12.5%" for a percentage, and "1,234 users" for any other unit.
func formatValue(v *float64, unit string) string {
	if v == nil {
		return noValue
	}

	if sym, ok := currencySymbols[strings.ToUpper(unit)]; ok {
		// Amounts with cents show both decimals: "$3.50", not "$3.5".
		s := formatDecimals(*v, 2, math.Round(*v*100) != math.Round(*v)*100)
		if strings.HasPrefix(s, "-") {
			return "-" + sym + s[1:]
		}
		return sym + s
	}

	s := formatNumber(*v)
	switch {
	case unit == "%" || strings.EqualFold(unit, "percent"):
		return s + "%"
	case unit == "":
		return s
	default:
		return s + " " + unit
	}
}

// formatChange formats a period-over-period change with its sign, in percent
// or in percentage points ("pp").
func formatChange(change float64, changeUnit string) string {
	s := formatNumber(change)
	if !strings.HasPrefix(s, "-") && s != "0" {
		s = "+" + s
	}
	if changeUnit == "pp" {
		return s + " pp"
	}
	return s + "%"
}

// changeArrow returns an arrow for the direction of a change.
func changeArrow(change float64) string {
	switch {
	case change > 0:
		return "↑"
	case change < 0:
		return "↓"
	default:
		return "→"
	}
}

// formatPeriod names the period of grain g that starts at start, in the
// time zone start carries: "2026-03-09", "week of 2026-03-09", "Mar 2026",
// "Q1 2026".
func formatPeriod(start time.Time, g timegrain.Grain) string {
	switch g {
	case timegrain.Week:
		return "week of " + timegrain.DateOf(start).String()
	case timegrain.Month:
		return start.Format("Jan 2006")
	case timegrain.Quarter:
		return fmt.Sprintf("Q%d %d", (int(start.Month())-1)/3+1, start.Year())
	default:
		return timegrain.DateOf(start).String()
	}
}

// partialLabel describes a period of grain g that is not over yet.
func partialLabel(g timegrain.Grain) string {
	switch g {
	case timegrain.Week:
		return "week to date"
	case timegrain.Month:
		return "month to date"
	case timegrain.Quarter:
		return "quarter to date"
	default:
		return "today so far"
	}
}

// formatKPIValue formats a value of k: as formatValue does with k's unit,
// except that a Net Promoter Score always shows one decimal ("31.5").
func formatKPIValue(v *float64, k *kpi.KPI) string {
	if v != nil && k.Metric.Kind == kpi.NPS {
		s := formatDecimals(*v, 1, true)
		if k.Unit != "" {
			s += " " + k.Unit
		}
		return s
	}
	return formatValue(v, k.Unit)
}
