package demo

import (
	_ "embed"
	"regexp"
	"time"
)

// kpiFile is the demo KPI file, with dates written for data that ends at
// kpiFileEnd.
//
//go:embed kpis.yaml
var kpiFile []byte

// kpiFileEnd is the end of the data that the dates in kpis.yaml are written
// for, as a date in the demo time zone.
var kpiFileEnd = time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)

// datePattern matches the YYYY-MM-DD dates in kpis.yaml.
var datePattern = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)

// KPIFile returns the demo KPI file for data that ends at end, which is
// normally End(now). Every date in the file is moved by the number of
// calendar days between 2027-01-01 and end's date in the demo time zone, so
// that baselines and targets keep their place relative to the data.
func KPIFile(end time.Time) []byte {
	e := end.In(Location())
	endDate := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
	shift := int(endDate.Sub(kpiFileEnd) / (24 * time.Hour))

	return datePattern.ReplaceAllFunc(kpiFile, func(b []byte) []byte {
		d, err := time.Parse(time.DateOnly, string(b))
		if err != nil {
			return b // not a valid date, such as 2026-13-01; kpis.yaml has none
		}
		return []byte(d.AddDate(0, 0, shift).Format(time.DateOnly))
	})
}

// EmbeddedKPIFile returns the demo KPI file as embedded, with its dates
// written for data that ends on 2027-01-01.
func EmbeddedKPIFile() []byte {
	return append([]byte(nil), kpiFile...)
}
