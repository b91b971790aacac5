// Package floor computes the benchmark workloads Q1 to Q4 from plain per-day
// roaring bitmaps of generated events, with no store, index, cache or KPI
// definitions in between. Its times are the floor that the engine's times
// at its Go API are compared with: the same results from the same bitmaps,
// computed with the simplest tight loops.
//
// Days are UTC days numbered from 0 at the generator's start, and weeks
// start on Monday, as in the benchmark's KPI file.
package floor

import (
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/northstar-kpi/northstar/internal/gen"
)

// Days is the users active on each day, as roaring bitmaps of user IDs. The
// IDs number users from 0 in the order of their first event, as the
// engine's activity index does: the users who start on one day get
// consecutive IDs, which keeps their bitmaps in few containers. The
// generator's own user numbers are random with respect to the first day, and
// intersections of bitmaps built from them took several times as long.
type Days struct {
	Start  time.Time                    // midnight UTC of day 0
	Any    []*roaring.Bitmap            // users with any event, per day
	ByName map[string][]*roaring.Bitmap // users with an event of the name, per day
}

// Build generates the events of opts one day at a time and builds their
// per-day bitmaps. Memory grows with users and the active users of each
// day, not with events.
func Build(opts gen.Options) (*Days, gen.Summary, error) {
	if opts.Start.IsZero() {
		opts.Start = gen.DefaultStart
	}
	d := &Days{
		Start:  opts.Start.UTC(),
		Any:    make([]*roaring.Bitmap, opts.Days),
		ByName: map[string][]*roaring.Bitmap{},
	}

	// The users of each name on the current day, with the names numbered in
	// the order they first appear.
	nameIDs := map[string]int{}
	var names []string
	var users [][]uint32
	var all []uint32
	userIDs := make([]uint32, opts.Users) // gen.Event.User to user ID, plus 1; 0 is not seen yet
	nextID := uint32(0)
	sum, err := gen.Each(opts, func(day int, events []gen.Event) error {
		all = all[:0]
		for i := range users {
			users[i] = users[i][:0]
		}
		for _, e := range events {
			id, ok := nameIDs[e.Name]
			if !ok {
				id = len(names)
				nameIDs[e.Name] = id
				names = append(names, e.Name)
				users = append(users, nil)
			}
			if userIDs[e.User] == 0 {
				nextID++
				userIDs[e.User] = nextID
			}
			u := userIDs[e.User] - 1
			users[id] = append(users[id], u)
			all = append(all, u)
		}

		d.Any[day] = roaring.BitmapOf(all...)
		for id, u := range users {
			byDay, ok := d.ByName[names[id]]
			if !ok {
				byDay = make([]*roaring.Bitmap, opts.Days)
				d.ByName[names[id]] = byDay
			}
			byDay[day] = roaring.BitmapOf(u...)
		}
		return nil
	})
	if err != nil {
		return nil, sum, err
	}

	// Every name gets a bitmap on every day, empty where it has no events.
	for _, byDay := range d.ByName {
		for i, b := range byDay {
			if b == nil {
				byDay[i] = roaring.New()
			}
		}
	}
	return d, sum, nil
}

// NumDays returns the number of days.
func (d *Days) NumDays() int { return len(d.Any) }

// named returns the per-day bitmaps of name, all empty when it has no
// events.
func (d *Days) named(name string) []*roaring.Bitmap {
	if b, ok := d.ByName[name]; ok {
		return b
	}
	empty := make([]*roaring.Bitmap, len(d.Any))
	for i := range empty {
		empty[i] = roaring.New()
	}
	return empty
}

// Date returns midnight UTC of day.
func (d *Days) Date(day int) time.Time { return d.Start.AddDate(0, 0, day) }
