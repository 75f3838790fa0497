package sinks

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Backoff is the retry schedule of a failed delivery. The n-th retry waits Base·2^(n-1), at
// most Max, with equal jitter: half of it fixed, half random, so retries of many events spread
// out. A Retry-After from the receiver replaces the computed wait (at most an hour).
// With the defaults: about 1, 2, 4, ... 512 s, then every 15 min, giving up after 20 attempts
// (about two hours).
type Backoff struct {
	// Base is the wait before the first retry. Defaults to 1s.
	Base time.Duration
	// Max caps one wait. Defaults to 15m.
	Max time.Duration
	// MaxAttempts is how many times one event is tried before it is given up and counted as
	// failed. Defaults to 20.
	MaxAttempts int
}

func (b *Backoff) setDefaults() {
	if b.Base == 0 {
		b.Base = time.Second
	}
	if b.Max == 0 {
		b.Max = 15 * time.Minute
	}
	if b.MaxAttempts == 0 {
		b.MaxAttempts = 20
	}
}

// maxRetryAfter bounds how long a receiver's Retry-After can hold an event back.
const maxRetryAfter = time.Hour

// wait is the delay before the next try of an event that failed its n-th attempt.
func (b Backoff) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, maxRetryAfter)
	}
	d := b.Max
	if n-1 < 62 && b.Base <= b.Max>>(n-1) { // shifting further would pass Max, or overflow
		d = b.Base << (n - 1)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. 0 when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
