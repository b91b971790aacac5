package web

import (
	"sync"
	"time"
)

// Limits of failed sign-ins. After maxFailuresPerAccount failures for one
// e-mail address, or maxFailuresPerAddress from one client address, within
// failureWindow, sign-ins for that address or from that client are refused
// until the oldest failure leaves the window.
const (
	maxFailuresPerAccount = 5
	maxFailuresPerAddress = 20
	failureWindow         = 15 * time.Minute

	// maxTrackedKeys bounds the limiter's memory. When it is full, keys
	// without a failure in the window are dropped, and then new keys go
	// untracked until old ones expire.
	maxTrackedKeys = 100_000
)

// signInLimiter counts failed sign-ins per e-mail address and per client
// address in this process's memory.
// NOTE: the counts are per server process and start empty after a restart.
type signInLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time // key -> failure times, oldest first
}

func newSignInLimiter() *signInLimiter {
	return &signInLimiter{failures: map[string][]time.Time{}}
}

// blocked returns how long sign-ins for email from addr must wait, or 0.
func (l *signInLimiter) blocked(email, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.waitLocked("account:"+email, maxFailuresPerAccount, now)
	if w := l.waitLocked("addr:"+addr, maxFailuresPerAddress, now); w > wait {
		wait = w
	}
	return wait
}

func (l *signInLimiter) waitLocked(key string, max int, now time.Time) time.Duration {
	times := recent(l.failures[key], now)
	l.failures[key] = times
	if len(times) == 0 {
		delete(l.failures, key)
	}
	if len(times) < max {
		return 0
	}
	return times[len(times)-max].Add(failureWindow).Sub(now)
}

// fail records a failed sign-in for email from addr.
func (l *signInLimiter) fail(email, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range []string{"account:" + email, "addr:" + addr} {
		if _, ok := l.failures[key]; !ok && len(l.failures) >= maxTrackedKeys {
			l.pruneLocked(now)
			if len(l.failures) >= maxTrackedKeys {
				continue
			}
		}
		l.failures[key] = append(recent(l.failures[key], now), now)
	}
}

// succeed clears the failures of email after a successful sign-in. The
// client address keeps its count.
func (l *signInLimiter) succeed(email string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, "account:"+email)
}

func (l *signInLimiter) pruneLocked(now time.Time) {
	for key, times := range l.failures {
		if len(recent(times, now)) == 0 {
			delete(l.failures, key)
		}
	}
}

// recent returns the times within failureWindow before now.
func recent(times []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(now.Add(-failureWindow)) {
		i++
	}
	return times[i:]
}
