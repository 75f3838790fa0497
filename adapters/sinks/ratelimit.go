package sinks

import (
	"net/http"

	"golang.org/x/time/rate"
)

// limiter paces one sink's API calls: never faster than its rate limit, and slower for a while
// after the CRM said it was throttled (halved on each 429, back up a quarter on each success).
type limiter struct {
	*rate.Limiter
	configured rate.Limit
}

// newLimiter allows limit.Requests calls in any window of limit.PerSeconds: the bucket holds one
// token, and refills at (Requests-1)/PerSeconds, since a full bucket at the window's start adds
// one call to those the refill allows in it. No limit: rate.Inf.
func newLimiter(limit RateLimit) *limiter {
	r := rate.Inf
	if limit.Requests > 0 && limit.PerSeconds > 0 {
		r = rate.Limit(float64(max(limit.Requests-1, 1)) / limit.PerSeconds)
	}
	return &limiter{Limiter: rate.NewLimiter(r, 1), configured: r}
}

// slowDown halves the pace after a 429; an unlimited sink gets its pace from its back-off.
func (l *limiter) slowDown() {
	if cur := l.Limit(); cur != rate.Inf {
		l.SetLimit(max(cur/2, l.configured/64))
	}
}

// relax moves the pace back towards the configured one after a call went through.
func (l *limiter) relax() {
	if cur := l.Limit(); cur < l.configured {
		l.SetLimit(min(cur*1.25, l.configured))
	}
}

// limitedTransport waits for the sink's limiter before each request: every HTTP call a CRM
// client makes counts (a Pipedrive write is up to three, a Salesforce token request one).
type limitedTransport struct {
	base    http.RoundTripper
	limiter *limiter
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(req)
}
