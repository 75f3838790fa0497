package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/leadledger/leadledger/adapters/config"
)

// rateLimits holds a token bucket for every source and every bearer token that has a limit,
// each its own, so that one runaway sender cannot take the capacity the others need.
type rateLimits struct {
	buckets map[limitKey]*rate.Limiter
	refused *prometheus.CounterVec
}

type limitKey struct{ kind, name string } // kind: "source" or "token"

func newRateLimits(reg prometheus.Registerer, cfg config.RateLimits, sources []config.Source, tokens []config.Token) (*rateLimits, error) {
	l := &rateLimits{buckets: map[limitKey]*rate.Limiter{}, refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadledger_rate_limited_total",
		Help: "Requests refused with 429 because their source or token was past its rate limit.",
	}, []string{"kind", "name"})}
	perSecond := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "leadledger_rate_limit_requests_per_second",
		Help: "The configured rate limit of a source or a token, in requests per second.",
	}, []string{"kind", "name"})
	burst := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "leadledger_rate_limit_burst",
		Help: "How many requests a source or a token may send at once after a quiet spell.",
	}, []string{"kind", "name"})
	add := func(kind, name string, limit config.RateLimit, ok bool) {
		if !ok {
			return
		}
		every := rate.Every(limit.Every())
		l.buckets[limitKey{kind, name}] = rate.NewLimiter(every, limit.BurstSize())
		perSecond.WithLabelValues(kind, name).Set(float64(every))
		burst.WithLabelValues(kind, name).Set(float64(limit.BurstSize()))
		l.refused.WithLabelValues(kind, name) // shown at 0 before the first refusal
	}
	for _, s := range sources {
		limit, ok := cfg.ForSource(s.ID)
		add("source", s.ID, limit, ok)
	}
	for _, t := range tokens {
		limit, ok := cfg.ForToken(t.Name)
		add("token", t.Name, limit, ok)
	}
	for _, c := range []prometheus.Collector{l.refused, perSecond, burst} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register rate limit metrics: %w", err)
		}
	}
	return l, nil
}

// allow takes one request from the bucket of kind/name, if it has one. When the bucket is
// empty it answers 429 with Retry-After (whole seconds until a request would pass) and
// reports false; nothing of the request is used.
func (l *rateLimits) allow(w http.ResponseWriter, kind, name string) bool {
	bucket, limited := l.buckets[limitKey{kind, name}]
	if !limited {
		return true
	}
	now := time.Now()
	reservation := bucket.ReserveN(now, 1)
	wait := reservation.DelayFrom(now)
	if wait == 0 {
		return true
	}
	reservation.CancelAt(now) // a refused request takes nothing from the bucket
	l.refused.WithLabelValues(kind, name).Inc()
	retryAfter := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeError(w, http.StatusTooManyRequests,
		fmt.Sprintf("Rate limit of %s %q exceeded; retry after %d s", kind, name, retryAfter))
	return false
}
