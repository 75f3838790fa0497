package config

import (
	"errors"
	"fmt"
	"time"
)

// RateLimit is a token bucket: Requests every PerSeconds on average, and up to Burst at once
// (Requests when not given).
type RateLimit struct {
	Requests   int     `yaml:"requests"`
	PerSeconds float64 `yaml:"per_seconds"`
	Burst      int     `yaml:"burst"`
}

// Every is the time one request's share of the bucket takes to come back.
func (l RateLimit) Every() time.Duration {
	return time.Duration(l.PerSeconds * float64(time.Second) / float64(l.Requests))
}

// BurstSize is how many requests may come at once.
func (l RateLimit) BurstSize() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return l.Requests
}

// RateLimits bound each source's webhooks and each bearer token's API calls, every one in a
// bucket of its own, so one runaway vendor or script cannot starve the others. Nil defaults
// and no entry: that source or token is not limited.
type RateLimits struct {
	SourceDefault *RateLimit           `yaml:"source_default"` // every source not named under sources
	Sources       map[string]RateLimit `yaml:"sources"`        // by source id
	TokenDefault  *RateLimit           `yaml:"token_default"`  // every token not named under tokens
	Tokens        map[string]RateLimit `yaml:"tokens"`         // by token name
}

// ForSource returns the limit of the source with that id, if it has one.
func (r RateLimits) ForSource(id string) (RateLimit, bool) {
	return pick(r.Sources, r.SourceDefault, id)
}

// ForToken returns the limit of the token with that name, if it has one.
func (r RateLimits) ForToken(name string) (RateLimit, bool) {
	return pick(r.Tokens, r.TokenDefault, name)
}

func pick(named map[string]RateLimit, fallback *RateLimit, name string) (RateLimit, bool) {
	if l, ok := named[name]; ok {
		return l, true
	}
	if fallback != nil {
		return *fallback, true
	}
	return RateLimit{}, false
}

func (l RateLimit) validate() error {
	if l.Requests <= 0 || l.PerSeconds <= 0 || l.Burst < 0 {
		return fmt.Errorf("requests and per_seconds must be positive and burst not negative, got requests %d, per_seconds %g, burst %d",
			l.Requests, l.PerSeconds, l.Burst)
	}
	return nil
}

// validate checks every limit, and that each named one names a configured source or token.
func (r RateLimits) validate(sources, tokens map[string]bool) error {
	var errs []error
	check := func(what string, l *RateLimit) {
		if l == nil {
			return
		}
		if err := l.validate(); err != nil {
			errs = append(errs, fmt.Errorf("rate_limits: %s: %w", what, err))
		}
	}
	check("source_default", r.SourceDefault)
	check("token_default", r.TokenDefault)
	for _, set := range []struct {
		kind  string
		named map[string]RateLimit
		known map[string]bool
	}{{"sources", r.Sources, sources}, {"tokens", r.Tokens, tokens}} {
		for name, l := range set.named {
			if !set.known[name] {
				errs = append(errs, fmt.Errorf("rate_limits: %s: %q is not configured", set.kind, name))
			}
			check(set.kind+"."+name, &l)
		}
	}
	return errors.Join(errs...)
}
