package floor

import (
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// DailyActive returns Q1: the number of users with any event on each day.
func DailyActive(d *Days) []int {
	out := make([]int, d.NumDays())
	for day, b := range d.Any {
		out[day] = int(b.GetCardinality())
	}
	return out
}

// RollingActive returns Q2: for each day, the number of users with any event
// in the window days that end with it.
//
// It reads each active (user, day) pair once. A pair starts a stretch of
// days in which the user counts, ending window days later or at the user's
// next active day, whichever is first. A +1 at the start and a −1 at the end
// of every stretch, summed in day order, give the counts.
func RollingActive(d *Days, window int) []int {
	n := d.NumDays()
	delta := make([]int, n+window+1)
	maxUser := uint32(0)
	for _, b := range d.Any {
		if !b.IsEmpty() {
			maxUser = max(maxUser, b.Maximum())
		}
	}
	// lastDay[u] is the user's latest active day so far, or far in the past.
	lastDay := make([]int32, int(maxUser)+1)
	for i := range lastDay {
		lastDay[i] = -1 << 30
	}

	buf := make([]uint32, 4096)
	for day, b := range d.Any {
		it := b.ManyIterator()
		for {
			k := it.NextMany(buf)
			if k == 0 {
				break
			}
			for _, u := range buf[:k] {
				prev := int(lastDay[u])
				if prev+window > day {
					delta[prev+window]++ // the previous stretch now ends today
				} else {
					delta[day]++
				}
				delta[day+window]--
				lastDay[u] = int32(day)
			}
		}
	}

	out := make([]int, n)
	running := 0
	for day := range n {
		running += delta[day]
		out[day] = running
	}
	return out
}

// Cohort is one row of Q3: the users whose first cohort event falls in the
// month that starts on Month, and how many of them have any event in each
// month from it (Back[0] is the cohort's own month).
type Cohort struct {
	Month time.Time
	Size  int
	Back  []int
}

// MonthlyCohorts returns Q3: a row per calendar month from the first day's,
// with offsets up to the last month that has ended by the end of the last
// day.
func MonthlyCohorts(d *Days, cohortEvent string) []Cohort {
	n := d.NumDays()
	if n == 0 {
		return nil
	}
	first := d.Date(0)
	months := monthIndex(first, d.Date(n-1)) + 1
	complete := months
	if d.Date(n).Day() != 1 {
		complete-- // the last month has not ended
	}

	// Each month's active users, and its cohort: the users of the cohort
	// event in it who had none before.
	active := make([]*roaring.Bitmap, months)
	cohorts := make([]*roaring.Bitmap, months)
	seen := roaring.New()
	signups := d.named(cohortEvent)
	start := 0
	for m := range months {
		end := start
		for end < n && monthIndex(first, d.Date(end)) == m {
			end++
		}
		active[m] = roaring.FastOr(d.Any[start:end]...)
		c := roaring.FastOr(signups[start:end]...)
		c.AndNot(seen)
		seen.Or(c)
		cohorts[m] = c
		start = end
	}

	out := make([]Cohort, months)
	for c := range months {
		row := Cohort{Month: time.Date(first.Year(), first.Month()+time.Month(c), 1, 0, 0, 0, 0, time.UTC), Size: int(cohorts[c].GetCardinality())}
		for m := c; m < complete; m++ {
			row.Back = append(row.Back, int(cohorts[c].AndCardinality(active[m])))
		}
		out[c] = row
	}
	return out
}

// monthIndex returns the number of calendar months from from's to t's.
func monthIndex(from, t time.Time) int {
	return (t.Year()-from.Year())*12 + int(t.Month()) - int(from.Month())
}

// FunnelWeek is one row of Q4: the users who entered the funnel in the week
// that starts on Week, those who completed it, and those still in progress
// at the end of the last day.
type FunnelWeek struct {
	Week       time.Time
	Entered    int
	Completed  int
	InProgress int
}

// Funnel returns Q4 by Monday weeks, with the rule of the engine's funnels at
// day resolution: a user enters on the day of their first steps[0] event in
// the week, and completes when each later step has an event on the day of
// the step before or later, up to window−1 days after the entry day. A user
// who has not completed and whose window ends after the last day is in
// progress.
//
// For each entry day it intersects the users who reached step k−1 with the
// users of step k on each day of the window, in day order, so a user can
// take several steps on one day.
func Funnel(d *Days, steps []string, window int) []FunnelWeek {
	n := d.NumDays()
	if n == 0 || len(steps) < 2 {
		return nil
	}
	stepDays := make([][]*roaring.Bitmap, len(steps))
	for k, s := range steps {
		stepDays[k] = d.named(s)
	}

	var out []FunnelWeek
	var seen *roaring.Bitmap
	reached := make([]*roaring.Bitmap, len(steps))
	for day := range n {
		date := d.Date(day)
		if day == 0 || date.Weekday() == time.Monday {
			week := date.AddDate(0, 0, -((int(date.Weekday()) + 6) % 7))
			out = append(out, FunnelWeek{Week: week})
			seen = roaring.New()
		}
		entrants := roaring.AndNot(stepDays[0][day], seen)
		if entrants.IsEmpty() {
			continue
		}
		seen.Or(entrants)

		reached[0] = entrants
		for k := 1; k < len(steps); k++ {
			reached[k] = roaring.New()
		}
		for x := day; x < day+window && x < n; x++ {
			for k := 1; k < len(steps) && !reached[k-1].IsEmpty(); k++ {
				reached[k].Or(roaring.And(reached[k-1], stepDays[k][x]))
			}
		}

		w := &out[len(out)-1]
		entered := int(entrants.GetCardinality())
		completed := int(reached[len(steps)-1].GetCardinality())
		w.Entered += entered
		w.Completed += completed
		if day+window > n {
			w.InProgress += entered - completed
		}
	}
	return out
}
