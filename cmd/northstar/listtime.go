package main

import "time"

// listTimeLayout is the layout of times in list output, such as
// "2026-12-04 23:10:05 UTC".
const listTimeLayout = "2006-01-02 15:04:05 UTC"

// formatListTime formats t in UTC with the zone named, so that a list reads
// the same on machines set to other time zones.
func formatListTime(t time.Time) string {
	return t.UTC().Format(listTimeLayout)
}
