// Package gen writes a synthetic product-event data set for benchmarks: a
// fixed number of events over a span of days by a fixed number of users,
// deterministic for a seed, streamed to a file in CSV or NDJSON.
//
// Each user signs up on a first day (more users sign up later in the span),
// sends a signup event then, and comes back on later days with a chance that
// decays with the days since signup towards a small floor. A per-user
// engagement factor spreads activity unevenly among users. The events of an
// active day are drawn from 49 names whose frequencies fall off roughly as
// 1/rank. The user's first event after signup is often activate, so the
// funnel signup → activate → purchase has conversions.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Output formats.
const (
	FormatCSV    = "csv"
	FormatNDJSON = "ndjson"
)

// DefaultStart is the first day of the data when Options.Start is zero. It
// is fixed, not today, so the same flags write the same bytes on any day.
var DefaultStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxDays bounds Options.Days.
const MaxDays = 3660

// Options configures Write.
type Options struct {
	Events int       // events to write, signups included; at least Users
	Users  int       // users, each of whom signs up once
	Days   int       // days that the events span, from Start
	Seed   uint64    // seed of the random stream
	Start  time.Time // midnight UTC of the first day; zero means DefaultStart
	Format string    // FormatCSV or FormatNDJSON
}

// Summary counts what Write wrote.
type Summary struct {
	Events  int // events written
	Users   int // users, each with one signup event
	Signups int // signup events
}

// validate checks the options that Each uses; Write checks Format too.
func (o Options) validate() error {
	switch {
	case o.Users < 1:
		return kpi.Errorf(kpi.EINVALID, "users is %d; want at least 1", o.Users)
	case o.Events < o.Users:
		return kpi.Errorf(kpi.EINVALID, "events is %d, fewer than the %d users; every user sends a signup event, so want at least %d events",
			o.Events, o.Users, o.Users)
	case o.Users > math.MaxInt32:
		return kpi.Errorf(kpi.EINVALID, "users is %d; want at most %d", o.Users, math.MaxInt32)
	case o.Days < 1 || o.Days > MaxDays:
		return kpi.Errorf(kpi.EINVALID, "days is %d; want 1 to %d", o.Days, MaxDays)
	}
	return nil
}

// Write generates the data set that opts describes and writes it to w, one
// day at a time and each day's events in time order. The same options always
// give the same bytes. Memory grows with users and with the events of one
// day, not with the total number of events. Write returns a kpi.EINVALID
// error for invalid options, and any error of w.
func Write(w io.Writer, opts Options) (Summary, error) {
	if err := opts.validate(); err != nil {
		return Summary{}, err
	}
	if opts.Format != FormatCSV && opts.Format != FormatNDJSON {
		return Summary{}, kpi.Errorf(kpi.EINVALID, "format %q is not known; want %s or %s", opts.Format, FormatCSV, FormatNDJSON)
	}
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	opts.Start = opts.Start.UTC()

	bw := bufio.NewWriterSize(w, 1<<20)
	enc := newEncoder(bw, opts)
	if err := enc.header(); err != nil {
		return Summary{}, err
	}

	sim := newSimulation(opts)
	var sum Summary
	for day := range opts.Days {
		events := sim.simulateDay(day)
		if err := enc.day(opts.Start.AddDate(0, 0, day), events, sim.users); err != nil {
			return sum, fmt.Errorf("write the events of day %d: %w", day+1, err)
		}
		sum.Events += len(events)
	}
	sum.Users = opts.Users
	sum.Signups = sim.signups
	if err := bw.Flush(); err != nil {
		return sum, fmt.Errorf("write events: %w", err)
	}
	return sum, nil
}

// Event is one generated event as Each passes it.
type Event struct {
	Second int    // second of the day, 0 to 86399, in UTC
	User   int32  // user number from 0; the distinct_id that Write writes is "u" and User+1
	Name   string // event name
	Amount int    // purchase amount, 0 for other events
}

// Each generates the events that Write writes for opts, in the same order,
// and calls fn with the events of each day, numbered from 0 at opts.Start.
// It ignores opts.Format. The slice is reused for the next day, so fn must
// not keep it. Memory grows as it does in Write. Each returns a
// kpi.EINVALID error for invalid options, and the first error of fn.
func Each(opts Options, fn func(day int, events []Event) error) (Summary, error) {
	if err := opts.validate(); err != nil {
		return Summary{}, err
	}
	sim := newSimulation(opts)
	var sum Summary
	var out []Event
	for day := range opts.Days {
		events := sim.simulateDay(day)
		out = out[:0]
		for _, ev := range events {
			name := EventSignup
			if ev.name != nameSignup {
				name = eventWeights[ev.name].name
			}
			out = append(out, Event{Second: int(ev.second), User: ev.user, Name: name, Amount: int(ev.amount)})
		}
		if err := fn(day, out); err != nil {
			return sum, err
		}
		sum.Events += len(events)
	}
	sum.Users = opts.Users
	sum.Signups = sim.signups
	return sum, nil
}

// user is the state of one simulated user.
type user struct {
	firstDay   int32
	engagement float32 // scales the chance of activity on a day; 1 on average
	plan       uint8   // index into plans
	country    uint8   // index into countries
}

// event is one generated event, before it is formatted.
type event struct {
	second uint32 // second of the day, 0 to 86399
	user   int32
	name   int16 // index into eventWeights, or nameSignup
	amount int32 // purchase amount, 0 for other events
}

// nameSignup marks a signup event in event.name.
const nameSignup = -1

// Activity model. The chance that a user is active a days after signup is
// engagement × (floor + (peak − floor) × exp(−a / halfLife·ln2)), capped at
// 1. A user is always active on the signup day.
const (
	activityPeak     = 0.45 // chance of activity the day after signup
	activityFloor    = 0.03 // long-run chance of activity on a day
	activityHalfLife = 7.0  // days for the excess over the floor to halve

	activateOnSignupDay = 0.6  // chance that the first event after signup is activate
	activateLater       = 0.08 // the same on each of the 6 days after, if active
	signupGrowth        = 3.0  // signups per day at the end of the span over those at its start
)

// simulation is the generator's state between days.
type simulation struct {
	opts    Options
	rng     *rand.Rand
	users   []user
	chance  []float64 // chance of activity by days since signup, before engagement
	budget  []int     // events of each day, signups excluded
	names   []float64 // cumulative event weights
	signups int

	// Buffers reused from day to day.
	active []int32
	counts []int32
	cumul  []float64
	events []event
}

func newSimulation(opts Options) *simulation {
	// The second PCG word is fixed, so the seed alone picks the stream.
	const stream = 0x67656e6576656e74 // "genevent" in ASCII
	s := &simulation{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, stream)),
	}

	s.chance = make([]float64, opts.Days)
	s.chance[0] = 1
	for a := 1; a < opts.Days; a++ {
		s.chance[a] = activityFloor + (activityPeak-activityFloor)*math.Exp(-float64(a-1)*math.Ln2/activityHalfLife)
	}

	for _, w := range eventWeights {
		prev := 0.0
		if len(s.names) > 0 {
			prev = s.names[len(s.names)-1]
		}
		s.names = append(s.names, prev+w.weight)
	}

	s.createUsers()
	s.budget = s.dayBudgets()
	return s
}

// createUsers draws each user's first day, engagement, plan and country. The
// rate of signups grows exponentially, signupGrowth times over the span.
func (s *simulation) createUsers() {
	days := float64(s.opts.Days)
	g := math.Log(signupGrowth)
	s.users = make([]user, s.opts.Users)
	for i := range s.users {
		// Inverse of the cumulative distribution of a rate ∝ exp(g·t), t in [0, 1).
		t := math.Log1p(s.rng.Float64()*(signupGrowth-1)) / g
		day := min(int32(t*days), int32(s.opts.Days-1))

		// A log-normal engagement with mean 1: most users are casual, a few
		// are heavy.
		const sigma = 0.8
		engagement := math.Exp(sigma*s.rng.NormFloat64() - sigma*sigma/2)

		s.users[i] = user{
			firstDay:   day,
			engagement: float32(engagement),
			plan:       uint8(pickIndex(s.rng, planWeights)),
			country:    uint8(pickIndex(s.rng, countryWeight)),
		}
	}
}

// dayBudgets splits the events that are not signups among the days in
// proportion to the expected number of active users on each day, by largest
// remainder, so that they add up to exactly Events − Users.
func (s *simulation) dayBudgets() []int {
	days := s.opts.Days
	signupsOn := make([]float64, days)
	for _, u := range s.users {
		signupsOn[u.firstDay]++
	}

	expected := make([]float64, days)
	total := 0.0
	for d := range days {
		for first := 0; first <= d; first++ {
			expected[d] += signupsOn[first] * min(1, s.chance[d-first])
		}
		total += expected[d]
	}

	rest := s.opts.Events - s.opts.Users
	budget := make([]int, days)
	type remainder struct {
		day  int
		frac float64
	}
	remainders := make([]remainder, days)
	given := 0
	for d := range days {
		share := float64(rest) * expected[d] / total
		budget[d] = int(share)
		given += budget[d]
		remainders[d] = remainder{d, share - float64(budget[d])}
	}
	slices.SortStableFunc(remainders, func(a, b remainder) int {
		switch {
		case a.frac > b.frac:
			return -1
		case a.frac < b.frac:
			return 1
		}
		return 0
	})
	for i := 0; given < rest; i++ {
		budget[remainders[i%days].day]++
		given++
	}
	return budget
}

// simulateDay returns the events of day number day, counted from 0, sorted by
// time. The slice is reused by the next call.
func (s *simulation) simulateDay(day int) []event {
	s.active = s.active[:0]
	s.events = s.events[:0]

	// Who is active today. The loop visits every user, so the same draws
	// happen in the same order on every run.
	for i := range s.users {
		u := &s.users[i]
		age := day - int(u.firstDay)
		if age < 0 {
			continue
		}
		if age > 0 && s.rng.Float64() >= float64(u.engagement)*s.chance[age] {
			continue
		}
		s.active = append(s.active, int32(i))
	}

	s.assignCounts(s.budget[day])

	for k, id := range s.active {
		s.session(day, id, int(s.counts[k]))
	}
	slices.SortStableFunc(s.events, func(a, b event) int {
		if a.second != b.second {
			return int(a.second) - int(b.second)
		}
		return int(a.user) - int(b.user)
	})
	return s.events
}

// assignCounts sets counts[k], the number of events that are not signups of
// active user k today, so that they add up to budget. Each active user gets
// one when the budget allows; the rest go to users with a chance
// proportional to their engagement. When the budget is smaller than the
// number of active users, a random subset of them gets one each.
func (s *simulation) assignCounts(budget int) {
	n := len(s.active)
	s.counts = slices.Grow(s.counts[:0], n)[:n]
	clear(s.counts)
	if n == 0 {
		return
	}

	if budget < n {
		// A partial Fisher-Yates shuffle picks budget distinct users.
		for k := range budget {
			j := k + s.rng.IntN(n-k)
			s.active[k], s.active[j] = s.active[j], s.active[k]
			s.counts[k] = 1
		}
		return
	}

	s.cumul = slices.Grow(s.cumul[:0], n)[:n]
	total := 0.0
	for k, id := range s.active {
		s.counts[k] = 1
		total += float64(s.users[id].engagement)
		s.cumul[k] = total
	}
	for range budget - n {
		k, _ := slices.BinarySearch(s.cumul, s.rng.Float64()*total)
		s.counts[min(k, n-1)]++
	}
}

// session appends the events of user id on day: the signup first on the
// first day, then count events a few seconds to minutes apart from a random
// start time.
func (s *simulation) session(day int, id int32, count int) {
	u := &s.users[id]
	age := day - int(u.firstDay)
	second := uint32(s.rng.IntN(86400))

	if age == 0 {
		s.events = append(s.events, event{second: second, user: id, name: nameSignup})
		s.signups++
	}

	for k := range count {
		// The session's first event is at its start, unless a signup is there.
		if k > 0 || age == 0 {
			second = min(second+1+uint32(s.rng.IntN(120)), 86399)
		}
		name := s.pickName()
		switch {
		case k == 0 && age == 0 && s.rng.Float64() < activateOnSignupDay:
			name = activateIndex
		case k == 0 && age > 0 && age <= 6 && s.rng.Float64() < activateLater:
			name = activateIndex
		}

		amount := int32(0)
		if name == purchaseIndex {
			prices := purchaseAmounts[u.plan]
			amount = int32(prices[s.rng.IntN(len(prices))])
		}
		s.events = append(s.events, event{second: second, user: id, name: int16(name), amount: amount})
	}
}

// pickName returns the index of a random event name, weighted by eventWeights.
func (s *simulation) pickName() int {
	r := s.rng.Float64() * s.names[len(s.names)-1]
	i, _ := slices.BinarySearch(s.names, r)
	return min(i, len(s.names)-1)
}

// Indexes of the funnel's names in eventWeights.
var (
	activateIndex = nameIndex(EventActivate)
	purchaseIndex = nameIndex(EventPurchase)
)

func nameIndex(name string) int {
	for i, w := range eventWeights {
		if w.name == name {
			return i
		}
	}
	panic("gen: event name " + name + " is missing from eventWeights")
}

// pickIndex returns a random index of weights, with chances proportional to
// the weights.
func pickIndex(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	r := rng.Float64() * total
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}
