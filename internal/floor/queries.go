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
// day resolution. A user enters on the day of their first steps[0] event in
// the week. They complete when each later step has an event on the day of
// the step before or later, up to window−1 days after the entry day. A user
// who has not completed and whose window ends after the last day is in
// progress.
//
// It follows the users of each entry day through the days of their window,
// in day order, so a user can take several steps on one day (see
// completions).
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
	var f funnelDay
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

		stepsOn := make([][]*roaring.Bitmap, 0, window)
		for x := day; x < day+window && x < n; x++ {
			on := make([]*roaring.Bitmap, len(steps)-1)
			for k := range on {
				on[k] = stepDays[k+1][x]
			}
			stepsOn = append(stepsOn, on)
		}

		w := &out[len(out)-1]
		entered := int(entrants.GetCardinality())
		completed := f.completions(entrants, stepsOn)
		w.Entered += entered
		w.Completed += completed
		if day+window > n {
			w.InProgress += entered - completed
		}
	}
	return out
}

// funnelDay holds the buffers that completions reuses.
type funnelDay struct {
	level []int32
	it    roaring.IntIterator
}

// completions returns how many of entrants reach the last step, where
// stepsOn[i][k] is the users of step k+1 on day i of the window.
//
// Users who start on the same day have nearby IDs. So it keeps each
// entrant's step in a slice indexed by ID − min(entrants), and reads only
// the users of each step and day whose IDs fall between the entrants'
// smallest and largest ID. Those are a few dozen a day, where an
// intersection would read all of the entrants each time. When the IDs are
// spread out (more than 8 per entrant) it intersects bitmaps instead.
func (f *funnelDay) completions(entrants *roaring.Bitmap, stepsOn [][]*roaring.Bitmap) int {
	last := len(stepsOn[0])
	lo, hi := entrants.Minimum(), entrants.Maximum()
	span := int(hi-lo) + 1
	if span > 8*int(entrants.GetCardinality()) {
		r := make([]*roaring.Bitmap, last+1)
		r[0] = entrants
		for k := 1; k <= last; k++ {
			r[k] = roaring.New()
		}
		for _, on := range stepsOn {
			for k := 1; k <= last && !r[k-1].IsEmpty(); k++ {
				r[k].Or(roaring.And(r[k-1], on[k-1]))
			}
		}
		return int(r[last].GetCardinality())
	}

	if cap(f.level) < span {
		f.level = make([]int32, span)
	}
	level := f.level[:span]
	for i := range level {
		level[i] = -1 // not an entrant
	}
	f.it.Initialize(entrants)
	for f.it.HasNext() {
		level[f.it.Next()-lo] = 0
	}

	completed := 0
	for _, on := range stepsOn {
		for k := 1; k <= last; k++ {
			f.it.Initialize(on[k-1])
			f.it.AdvanceIfNeeded(lo)
			for f.it.HasNext() {
				v := f.it.Next()
				if v > hi {
					break
				}
				if level[v-lo] == int32(k-1) {
					level[v-lo] = int32(k)
					if k == last {
						completed++
					}
				}
			}
		}
	}
	return completed
}

// FunnelSweep returns the same rows as Funnel with another loop: it walks
// the days once, reading each day's users of each step once, and keeps each
// user's open attempts in plain arrays indexed by user ID. A user can have
// an open attempt from each of the last (window−1)/7+2 weeks at most, so
// that many slots per user suffice.
func FunnelSweep(d *Days, steps []string, window int) []FunnelWeek {
	n := d.NumDays()
	if n == 0 || len(steps) < 2 {
		return nil
	}
	stepDays := make([][]*roaring.Bitmap, len(steps))
	for k, s := range steps {
		stepDays[k] = d.named(s)
	}
	users := 0
	for _, b := range stepDays[0] {
		if !b.IsEmpty() {
			users = max(users, int(b.Maximum())+1)
		}
	}

	// The week of each day, numbered from 0.
	var out []FunnelWeek
	weekOf := make([]int32, n)
	for day := range n {
		date := d.Date(day)
		if day == 0 || date.Weekday() == time.Monday {
			out = append(out, FunnelWeek{Week: date.AddDate(0, 0, -((int(date.Weekday()) + 6) % 7))})
		}
		weekOf[day] = int32(len(out) - 1)
	}

	// attempts[u*slots+s] is user u's attempt of a week whose number is s
	// modulo slots.
	type attempt struct {
		week, day int32 // week −1: none
		step      int32 // the last step reached
	}
	slots := (window-1)/7 + 2
	attempts := make([]attempt, users*slots)
	for i := range attempts {
		attempts[i].week = -1
	}

	last := int32(len(steps) - 1)
	buf := make([]uint32, 4096)
	for x := range n {
		w := weekOf[x]
		slot := int(w) % slots
		open := x+window > n // an attempt that starts today is still open at the end
		forEach(stepDays[0][x], buf, func(u uint32) {
			a := &attempts[int(u)*slots+slot]
			if a.week == w {
				return // entered earlier this week
			}
			*a = attempt{week: w, day: int32(x)}
			out[w].Entered++
			if open {
				out[w].InProgress++
			}
		})
		for k := int32(1); k <= last; k++ {
			forEach(stepDays[k][x], buf, func(u uint32) {
				for s := range slots {
					a := &attempts[int(u)*slots+s]
					if a.week < 0 || a.step != k-1 || int(a.day)+window <= x {
						continue
					}
					a.step = k
					if k == last {
						out[a.week].Completed++
						if int(a.day)+window > n {
							out[a.week].InProgress--
						}
					}
				}
			})
		}
	}
	return out
}

// forEach calls fn with each value of b, reading them in blocks into buf.
func forEach(b *roaring.Bitmap, buf []uint32, fn func(uint32)) {
	it := b.ManyIterator()
	for {
		k := it.NextMany(buf)
		if k == 0 {
			return
		}
		for _, v := range buf[:k] {
			fn(v)
		}
	}
}
