package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leadledger/leadledger/domain"
)

// appendMetrics describe group commit. They exist from Open, registered or not, so the batch
// writer never checks for them: observing is a few atomic adds once per transaction.
type appendMetrics struct {
	batchEvents prometheus.Histogram
	commitTime  prometheus.Histogram
	errors      *prometheus.CounterVec
	// One child per reason, made up front: no label lookup when an append fails.
	unavailable, conflict, abandoned, other prometheus.Counter
}

func newAppendMetrics() *appendMetrics {
	m := &appendMetrics{
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "leadledger_append_batch_events",
			Help:    "Events per committed append transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12), // 1 to 2048; max_batch is at most 2000
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "leadledger_append_commit_seconds",
			Help:    "Time of one committed append transaction, from BEGIN to COMMIT.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15), // 0.5 ms to about 8 s
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadledger_append_errors_total",
			Help: "Append requests answered with an error, by reason (unavailable, conflict, abandoned, error).",
		}, []string{"reason"}),
	}
	m.unavailable = m.errors.WithLabelValues("unavailable")
	m.conflict = m.errors.WithLabelValues("conflict")
	m.abandoned = m.errors.WithLabelValues("abandoned")
	m.other = m.errors.WithLabelValues("error")
	return m
}

// committed records one committed transaction of n events.
func (m *appendMetrics) committed(n int, took time.Duration) {
	m.batchEvents.Observe(float64(n))
	m.commitTime.Observe(took.Seconds())
}

// failed counts one append request answered with err.
func (m *appendMetrics) failed(err error) {
	switch {
	case err == nil:
	case errors.Is(err, ErrUnavailable):
		m.unavailable.Inc()
	case errors.Is(err, domain.ErrVersionConflict):
		m.conflict.Inc()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		m.abandoned.Inc()
	default:
		m.other.Inc()
	}
}

// RegisterMetrics registers the store's metrics with reg: group commit's batch size and commit
// time, append errors, and the connection pools' statistics (go_sql_*, labelled db_name: on
// SQLite "write", the single writer connection, and "read"; on PostgreSQL one pool, "shared").
func (s *Store) RegisterMetrics(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{s.metrics.batchEvents, s.metrics.commitTime, s.metrics.errors}
	if s.reads == s.db {
		cs = append(cs, collectors.NewDBStatsCollector(s.db, "shared"))
	} else {
		cs = append(cs, collectors.NewDBStatsCollector(s.db, "write"), collectors.NewDBStatsCollector(s.reads, "read"))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register event store metrics: %w", err)
		}
	}
	return nil
}
