package httpapi

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// outage follows the database outages ingest runs into, so that one is logged once when it
// starts, at most every interval while it lasts (with the count of refused webhooks), and once
// when it ends: during an outage every request fails, and a line for each buries the news. It
// ends with the first webhook stored an interval after the last refusal, so a database that
// refuses now and then (a commit missing its deadline) is one outage, not two lines each time.
type outage struct {
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	active   atomic.Bool // read on every stored webhook without the lock

	mu       sync.Mutex
	since    time.Time // when the outage started
	reported time.Time // when it was last logged
	last     time.Time // when a webhook was last refused
	refused  int64     // webhooks answered 503 since it started
}

// refuse records a webhook refused because the database is unavailable or too slow.
func (o *outage) refuse(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.last = now
	if !o.active.Load() {
		o.active.Store(true)
		o.since, o.reported, o.refused = now, now, 1
		o.log.Error("database unavailable: ingest answers 503 with Retry-After until it is back", "err", err)
		return
	}
	o.refused++
	if now.Sub(o.reported) >= o.interval {
		o.reported = now
		o.log.Warn("database still unavailable", "refused", o.refused, "for", since(o.since, now), "err", err)
	}
}

// stored records a webhook the log took: the end of the outage, if there was one.
func (o *outage) stored() {
	if !o.active.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.active.Load() && o.now().Sub(o.last) >= o.interval {
		o.active.Store(false)
		o.log.Warn("database available again", "refused", o.refused, "for", since(o.since, o.last))
	}
}

// since is a duration as an operator reads it: "1m12.5s".
func since(start, now time.Time) string { return now.Sub(start).Round(100 * time.Millisecond).String() }
