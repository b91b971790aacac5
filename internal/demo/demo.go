// Package demo generates a year of plausible product data for a SaaS product
// and the KPI file that goes with it, so that `northstar demo` can show a full
// dashboard without any data of one's own.
//
// The data is a simulation of users who sign up (more each month), come back
// in sessions that thin out after signup and are busier on weekdays, use
// features, pay for subscriptions and add-ons, and churn. It is deterministic:
// the same seed, number of days and end give the same events.
package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
	_ "time/tzdata" // the demo's workspace is in Europe/Berlin, even on hosts without a zone database

	"github.com/northstar-kpi/northstar/internal/store"
)

// Source is the store.Event Source of every demo event. A database whose
// events all have this source contains only demo data.
const Source = "demo"

// TimeZone is the time zone of the demo workspace. Days, weekdays and hours
// of the generated data are days, weekdays and hours in this zone.
const TimeZone = "Europe/Berlin"

// MaxDays bounds the days argument, so that a typo does not start a
// simulation of centuries.
const MaxDays = 3660

// Location returns the demo workspace's time zone.
func Location() *time.Location {
	loc, err := time.LoadLocation(TimeZone)
	if err != nil {
		// time/tzdata is embedded, so the zone is always known.
		panic(fmt.Sprintf("demo: load time zone %s: %v", TimeZone, err))
	}
	return loc
}

// End returns the end of the demo data for a run at now: midnight at the
// start of now's day in the demo time zone, so that the data covers whole
// days up to yesterday.
func End(now time.Time) time.Time {
	t := now.In(Location())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// Start returns the start of the data that Generate(seed, days, end) returns.
// The data covers days calendar days in end's time zone. The last of them is
// the day before end when end is a midnight, and end's own day otherwise, cut
// short at end. Start is the midnight at the beginning of the first day.
func Start(days int, end time.Time) time.Time {
	y, m, d := end.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, end.Location())
	if end.After(midnight) {
		d++ // end's own day is the last day, cut short at end
	}
	return time.Date(y, m, d-days, 0, 0, 0, 0, end.Location())
}

// Generate returns the events of days calendar days up to end, in time order.
// The days are days in end's time zone, and every timestamp t satisfies
// Start(days, end) <= t < end. End(now) gives whole days up to yesterday.
// Generate panics if days is not in [1, MaxDays].
func Generate(seed int64, days int, end time.Time) []store.Event {
	var all []store.Event
	// The emit function below never fails, so neither does Stream.
	_ = Stream(seed, days, end, func(events []store.Event) error {
		all = append(all, events...)
		return nil
	})
	return all
}

// Stream generates the same events as Generate and passes them to emit one
// day at a time, oldest day first, each day's events in time order. The slice
// passed to emit is not reused. Stream stops at the first error that emit
// returns and returns it. It panics if days is not in [1, MaxDays].
func Stream(seed int64, days int, end time.Time, emit func([]store.Event) error) error {
	if days < 1 || days > MaxDays {
		panic(fmt.Sprintf("demo: days %d is out of range [1, %d]", days, MaxDays))
	}

	sim := newSimulation(seed, days, end)
	for day := range days {
		events := sim.simulateDay(day)
		if err := emit(events); err != nil {
			return err
		}
	}
	return nil
}

// simulation is the state of the generator between days.
type simulation struct {
	rng   *rand.Rand
	seed  int64
	days  int
	start time.Time
	end   time.Time

	signups int     // users who have signed up so far
	active  []*user // users who have not churned yet
	nextSeq int     // the number of the next event, for its message id

	// Per-day state, reset by simulateDay.
	dayStart time.Time
	dayEnd   time.Time
	events   []store.Event
	carry    []store.Event // events that run past midnight, for the next day
}

func newSimulation(seed int64, days int, end time.Time) *simulation {
	// The second PCG word is fixed, so the seed alone picks the stream.
	const stream = 0x6e6f727468737461 // "northsta" in ASCII
	return &simulation{
		rng:   rand.New(rand.NewPCG(uint64(seed), stream)),
		seed:  seed,
		days:  days,
		start: Start(days, end),
		end:   end,
	}
}

// simulateDay returns the events of day number day, counted from Start.
func (s *simulation) simulateDay(day int) []store.Event {
	s.dayStart = s.start.AddDate(0, 0, day)
	s.dayEnd = s.start.AddDate(0, 0, day+1)
	if s.dayEnd.After(s.end) {
		s.dayEnd = s.end
	}
	s.events, s.carry = s.carry, nil
	weekday := s.dayStart.Weekday()

	// Users who signed up before today: churn first, so that a churned user
	// does nothing more, then billing and activity.
	survivors := s.active[:0]
	for _, u := range s.active {
		if day >= u.churnDay {
			s.churn(u)
			continue
		}
		s.bill(u, day)
		s.activity(u, day, weekday)
		survivors = append(survivors, u)
	}
	clear(s.active[len(survivors):])
	s.active = survivors

	// New users sign up after the existing users' activity is drawn, so that
	// the order of draws does not depend on how many sign up today.
	n := poisson(s.rng, signupRate(s.days-day)*signupWeekdayFactor(weekday))
	for range n {
		if u := s.signup(day); u != nil {
			s.active = append(s.active, u)
		}
	}

	slices.SortStableFunc(s.events, func(a, b store.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	for i := range s.events {
		s.events[i].MessageID = fmt.Sprintf("demo-%d-%08d", s.seed, s.nextSeq)
		s.nextSeq++
	}
	return s.events
}

// at returns the instant of the given wall-clock time of the current day.
// ok is false when the instant is not before the day's end, which happens
// only on a last day that is cut short at the end of the data.
func (s *simulation) at(hour, minute, second, millisecond int) (time.Time, bool) {
	// A time that does not exist on the night the clocks go forward is
	// normalised by time.Date to one hour later, still on the same day.
	t := time.Date(s.dayStart.Year(), s.dayStart.Month(), s.dayStart.Day(),
		hour, minute, second, millisecond*int(time.Millisecond), s.dayStart.Location())
	return t, !t.Before(s.dayStart) && t.Before(s.dayEnd)
}

// randomTime returns a time of the current day at a random hour weighted by
// when people work. ok is false when that time is past the end of the data.
func (s *simulation) randomTime() (t time.Time, ok bool) {
	hour := pick(s.rng, hourWeights[:])
	return s.at(hour, s.rng.IntN(60), s.rng.IntN(60), s.rng.IntN(1000))
}

// emit records one event. An event after the end of the current day, such as
// a feature used in a session that started just before midnight, is kept for
// the next day, and one after the end of the data is dropped.
func (s *simulation) emit(name string, u *user, at time.Time, props map[string]any) {
	if !at.Before(s.end) {
		return
	}
	e := store.Event{
		Name:       name,
		DistinctID: u.id,
		Timestamp:  at.UTC(),
		Properties: props,
		Source:     Source,
		ReceivedAt: at.UTC(),
	}
	if at.Before(s.dayEnd) {
		s.events = append(s.events, e)
	} else {
		s.carry = append(s.carry, e)
	}
}
