package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Plans.
const (
	planFree = "free"
	planPro  = "pro"
	planTeam = "team"
)

// Prices in EUR per month. A team pays per seat.
const (
	proPrice     = 29.0
	teamSeatFee  = 12.0
	billingCycle = 30 // days between two subscription payments
)

// user is one simulated user.
type user struct {
	id         string
	plan       string // the current plan; a free user may upgrade to pro
	seats      int    // for the team plan
	signupDay  int
	engagement float64 // scales the chance of a session on a given day, around 1
	churnDay   int     // the day the user stops using the product

	subscribed  bool
	nextBilling int // the day of the next subscription payment
}

// Mean lifetime in days from signup (or from an upgrade) to churn, by plan.
// Lifetimes are drawn from an exponential distribution.
var meanLifetime = map[string]float64{
	planFree: 45,
	planPro:  170,
	planTeam: 260,
}

// signupRate returns the expected signups per day, daysBeforeEnd days before
// the end of the data. It triples over a year: about 6 a day a year before
// the end and 18 a day at the end, or about 4,000 signups a year.
func signupRate(daysBeforeEnd int) float64 {
	const atEnd = 18.0
	return atEnd * math.Exp(-math.Log(3)*float64(daysBeforeEnd)/365)
}

// signupWeekdayFactor is 1 on average over a week.
func signupWeekdayFactor(d time.Weekday) float64 {
	if d == time.Saturday || d == time.Sunday {
		return 0.8
	}
	return 1.08
}

// activityWeekdayFactor is 1 on average over a week: people use the product
// at work.
func activityWeekdayFactor(d time.Weekday) float64 {
	switch d {
	case time.Saturday:
		return 0.65
	case time.Sunday:
		return 0.6
	}
	return 1.15
}

// hourWeights are the relative chances of each hour of the day, in the demo
// time zone, for signups and sessions.
var hourWeights = [24]float64{
	1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3.5, 6, 8, 9, 9,
	7.5, 8, 8.5, 8, 7, 5.5, 4, 3.5, 3, 2.5, 2, 1.4,
}

var (
	plans         = []string{planFree, planPro, planTeam}
	countries     = []string{"DE", "US", "GB", "FR", "NL", "ES", "IT", "PL", "SE", "CA", "BR", "IN", "JP"}
	countryWeight = []float64{22, 20, 10, 8, 6, 5, 5, 4, 4, 4, 4, 4, 4}
	channels      = []string{"organic", "paid_search", "referral", "social", "partner"}
	channelWeight = []float64{40, 25, 15, 12, 8}
	platforms     = []string{"web", "ios", "android"}
	platformShare = []float64{70, 18, 12}
	features      = []string{"dashboard", "report", "export", "alerts", "share", "annotations", "api"}
	featureWeight = []float64{35, 20, 12, 10, 9, 8, 6}
	addOns        = []float64{9, 19, 49} // prices of one-off add-on purchases
)

// planWeights returns the chances of free, pro and team for a signup
// daysBeforeEnd days before the end: the share of pro grows over the year.
func planWeights(daysBeforeEnd int) []float64 {
	ago := min(float64(daysBeforeEnd)/365, 1)
	pro := 0.25 - 0.08*ago
	team := 0.07
	return []float64{1 - pro - team, pro, team}
}

// signup creates a user who signs up on day and emits their first events:
// the signup, a first session and, on a paid plan, the subscription. It
// returns nil when the signup time falls past the end of the data.
func (s *simulation) signup(day int) *user {
	at, ok := s.randomTime()
	if !ok {
		return nil
	}

	s.signups++
	u := &user{
		id:         fmt.Sprintf("user_%05d", s.signups),
		plan:       plans[pick(s.rng, planWeights(s.days-day))],
		signupDay:  day,
		engagement: math.Min(math.Exp(s.rng.NormFloat64()*0.45), 2.5),
	}
	if u.plan == planTeam {
		u.seats = 3 + s.rng.IntN(18)
	}
	u.churnDay = day + 1 + int(s.rng.ExpFloat64()*meanLifetime[u.plan])

	s.emit("signup", u, at, map[string]any{
		"plan":    u.plan,
		"country": countries[pick(s.rng, countryWeight)],
		"channel": channels[pick(s.rng, channelWeight)],
	})
	if u.plan != planFree {
		s.subscribe(u, day, at.Add(time.Duration(30+s.rng.IntN(240))*time.Second))
	}
	s.session(u, at.Add(time.Duration(60+s.rng.IntN(300))*time.Second))
	return u
}

// subscribe starts u's subscription at the given time with its first payment.
func (s *simulation) subscribe(u *user, day int, at time.Time) {
	u.subscribed = true
	u.nextBilling = day + billingCycle
	props := map[string]any{"plan": u.plan}
	if u.plan == planTeam {
		props["seats"] = u.seats
	}
	s.emit("subscription_started", u, at, props)
	s.purchase(u, at.Add(time.Duration(1+s.rng.IntN(20))*time.Second), "subscription", subscriptionPrice(u))
}

func subscriptionPrice(u *user) float64 {
	if u.plan == planTeam {
		return teamSeatFee * float64(u.seats)
	}
	return proPrice
}

func (s *simulation) purchase(u *user, at time.Time, item string, amount float64) {
	s.emit("purchase", u, at, map[string]any{
		"amount":   amount,
		"currency": "EUR",
		"plan":     u.plan,
		"item":     item,
	})
}

// churn ends u's use of the product, cancelling a subscription.
func (s *simulation) churn(u *user) {
	if !u.subscribed {
		return
	}
	u.subscribed = false
	if at, ok := s.randomTime(); ok {
		s.emit("subscription_cancelled", u, at, map[string]any{"plan": u.plan})
	}
}

// bill charges u's subscription when a payment is due on day.
func (s *simulation) bill(u *user, day int) {
	if !u.subscribed || day < u.nextBilling {
		return
	}
	u.nextBilling = day + billingCycle

	// Payments run overnight, in the first hours of the day.
	if at, ok := s.at(2+s.rng.IntN(3), s.rng.IntN(60), s.rng.IntN(60), s.rng.IntN(1000)); ok {
		s.purchase(u, at, "subscription", subscriptionPrice(u))
	}
}

// activity draws whether u comes back on day, and what they do. The chance
// of a session is highest right after signup and settles at about a third of
// that after a few weeks.
func (s *simulation) activity(u *user, day int, weekday time.Weekday) {
	age := float64(day - u.signupDay)
	p := u.engagement * (0.2 + 0.45*math.Exp(-age/12)) * activityWeekdayFactor(weekday)
	if s.rng.Float64() >= p {
		return
	}

	sessions := 1 + poisson(s.rng, 0.4*u.engagement)
	var last time.Time
	for range sessions {
		if at, ok := s.randomTime(); ok {
			last = s.session(u, at)
		}
	}
	if last.IsZero() {
		return // every session fell past the end of the data
	}

	switch r := s.rng.Float64(); {
	case u.plan == planFree && r < 0.004:
		// An upgrade keeps the user longer.
		u.plan = planPro
		u.churnDay = day + 1 + int(s.rng.ExpFloat64()*meanLifetime[planPro])
		s.subscribe(u, day, last.Add(time.Duration(10+s.rng.IntN(120))*time.Second))
	case r < 0.004+0.01:
		s.purchase(u, last.Add(time.Duration(5+s.rng.IntN(60))*time.Second), "add_on", addOns[s.rng.IntN(len(addOns))])
	}
}

// session emits a session_start at the given time and the features used in
// the session, and returns the time of its last event.
func (s *simulation) session(u *user, at time.Time) time.Time {
	s.emit("session_start", u, at, map[string]any{"platform": platforms[pick(s.rng, platformShare)]})
	n := poisson(s.rng, math.Sqrt(u.engagement))
	for range n {
		at = at.Add(time.Duration(20+s.rng.IntN(600)) * time.Second)
		s.emit("feature_used", u, at, map[string]any{"feature": features[pick(s.rng, featureWeight)]})
	}
	return at
}

// pick returns an index into weights, drawn in proportion to the weights.
func pick(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	r := rng.Float64() * total
	for i, w := range weights {
		r -= w
		if r < 0 {
			return i
		}
	}
	return len(weights) - 1
}

// poisson draws from a Poisson distribution with mean lambda by Knuth's
// multiplication method, which is exact and fast for the small means used here.
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	limit := math.Exp(-lambda)
	n := 0
	for p := rng.Float64(); p > limit; p *= rng.Float64() {
		n++
	}
	return n
}
