package floor

import (
	"reflect"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// userEvent is one event of a hand-written data set: user, day number and
// event name.
type userEvent struct {
	user uint32
	day  int
	name string
}

// daysOf builds Days over n days from start out of events.
func daysOf(start time.Time, n int, events []userEvent) *Days {
	d := &Days{Start: start, Any: make([]*roaring.Bitmap, n), ByName: map[string][]*roaring.Bitmap{}}
	for i := range d.Any {
		d.Any[i] = roaring.New()
	}
	for _, e := range events {
		if d.ByName[e.name] == nil {
			d.ByName[e.name] = make([]*roaring.Bitmap, n)
			for i := range n {
				d.ByName[e.name][i] = roaring.New()
			}
		}
		d.ByName[e.name][e.day].Add(e.user)
		d.Any[e.day].Add(e.user)
	}
	return d
}

func TestRollingActiveByHand(t *testing.T) {
	d := daysOf(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 9, []userEvent{
		{0, 0, "a"}, {0, 5, "a"}, {1, 3, "a"}, {1, 3, "b"},
	})
	// With a 3-day window, day 3 covers days 1 to 3 (user 1 only) and day 5
	// covers days 3 to 5 (both users).
	want := []int{1, 1, 1, 1, 1, 2, 1, 1, 0}
	if got := RollingActive(d, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("RollingActive = %v, want %v", got, want)
	}
	if got, want := DailyActive(d), []int{1, 0, 0, 1, 0, 1, 0, 0, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("DailyActive = %v, want %v", got, want)
	}
}

func TestMonthlyCohortsByHand(t *testing.T) {
	// Days 0 to 4 are January 30 to February 3, so February is not over and
	// only offset 0 of January's cohort is reported.
	d := daysOf(time.Date(2025, 1, 30, 0, 0, 0, 0, time.UTC), 5, []userEvent{
		{0, 0, "signup"}, {0, 3, "visit"}, {1, 2, "signup"}, {2, 1, "visit"},
	})
	want := []Cohort{
		{Month: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Size: 1, Back: []int{1}},
		{Month: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), Size: 1},
	}
	if got := MonthlyCohorts(d, "signup"); !reflect.DeepEqual(got, want) {
		t.Errorf("MonthlyCohorts = %+v, want %+v", got, want)
	}
}

func TestFunnelByHand(t *testing.T) {
	// Two Monday weeks, days 0 to 13, a 7-day window: an entry on day d
	// counts steps on days d to d+6, and is in progress at the end when not
	// completed and d+7 > 14.
	events := []userEvent{
		{0, 0, "signup"}, {0, 0, "activate"}, {0, 0, "purchase"}, // all on one day: completed
		{1, 0, "signup"}, {1, 6, "activate"}, {1, 6, "purchase"}, // last day of the window: completed
		{2, 0, "signup"}, {2, 3, "activate"}, {2, 7, "purchase"}, // purchase a day late: dropped
		{3, 0, "signup"}, {3, 1, "purchase"}, {3, 2, "activate"}, // wrong order: dropped
		{4, 1, "signup"}, {4, 2, "signup"}, {4, 7, "activate"}, {4, 7, "purchase"}, // enters on day 1: completed
		{8, 6, "signup"}, {8, 7, "signup"}, {8, 8, "activate"}, {8, 9, "purchase"}, // enters both weeks, completes both
		{5, 10, "signup"}, {5, 12, "activate"}, // in progress
		{6, 12, "signup"}, {6, 12, "activate"}, {6, 13, "purchase"}, // completed
		{7, 13, "signup"}, {7, 13, "activate"}, {7, 13, "purchase"}, // completed
	}
	monday := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	want := []FunnelWeek{
		{Week: monday, Entered: 6, Completed: 4, InProgress: 0},
		{Week: monday.AddDate(0, 0, 7), Entered: 4, Completed: 3, InProgress: 1},
	}
	steps := []string{"signup", "activate", "purchase"}

	// User IDs 0 to 8 are close together, so Funnel takes its slice path;
	// multiplied by 100,000 they are spread out and it intersects bitmaps.
	for _, scale := range []uint32{1, 100_000} {
		scaled := make([]userEvent, len(events))
		for i, e := range events {
			scaled[i] = userEvent{e.user * scale, e.day, e.name}
		}
		d := daysOf(monday, 14, scaled)
		if got := Funnel(d, steps, 7); !reflect.DeepEqual(got, want) {
			t.Errorf("IDs × %d: Funnel = %+v, want %+v", scale, got, want)
		}
		if got := FunnelSweep(d, steps, 7); !reflect.DeepEqual(got, want) {
			t.Errorf("IDs × %d: FunnelSweep = %+v, want %+v", scale, got, want)
		}
	}
}
