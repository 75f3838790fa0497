package sinks

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// limiter paces one sink's API calls: never faster than its rate limit, and slower for a while
// after the CRM said it was throttled (halved on each 429, back up a quarter on each success).
type limiter struct {
	*rate.Limiter
	configured rate.Limit
	slowdowns  atomic.Int64 // a call that started before the latest slowdown does not relax it
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
	l.slowdowns.Add(1)
	if cur := l.Limit(); cur != rate.Inf {
		l.SetLimit(max(cur/2, l.configured/64))
	}
}

// generation identifies the pace a call started at, for relax.
func (l *limiter) generation() int64 { return l.slowdowns.Load() }

// relax moves the pace back towards the configured one after a call that started at the
// current pace went through (calls in flight when the CRM said 429 prove nothing).
func (l *limiter) relax(started int64) {
	if cur := l.Limit(); cur < l.configured && started == l.slowdowns.Load() {
		l.SetLimit(min(cur*1.25, l.configured))
	}
}

// limitedTransport waits for the sink's limiter before each request, then gives the request
// its timeout: every HTTP call a CRM client makes counts (a Pipedrive write is up to three, a
// Salesforce token request one), and waiting one's turn is not the CRM being slow.
type limitedTransport struct {
	base    http.RoundTripper
	limiter *limiter
	timeout time.Duration
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a request's timeout once its body is read and closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	defer c.cancel()
	return c.ReadCloser.Close()
}
