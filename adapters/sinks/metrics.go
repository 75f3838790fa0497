package sinks

import (
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

type metrics struct {
	attempts *prometheus.CounterVec
	crmCalls *prometheus.CounterVec
	crmTime  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, registry *Registry) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadledger_sink_attempts_total",
			Help: "Delivery attempts to sinks, by sink and the receiver's status code (0: no answer).",
		}, []string{"sink", "code"}),
		crmCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadledger_crm_calls_total",
			Help: "Batch writes to CRMs, by CRM and result (ok, throttled, unauthorized, error).",
		}, []string{"crm", "result"}),
		crmTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "leadledger_crm_call_seconds",
			Help:    "Time of one batch write to a CRM, throttling waits included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"crm"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.attempts, m.crmCalls, m.crmTime, newReplayCollector(registry), newSinkCollector(registry)} {
			if err := reg.Register(c); err != nil && !errors.As(err, &prometheus.AlreadyRegisteredError{}) {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) attempt(sink uuid.UUID, r result) {
	m.attempts.WithLabelValues(sink.String(), strconv.Itoa(r.statusCode)).Inc()
}

func (m *metrics) crmCall(sinkType string, err error, took time.Duration) {
	var t *crm.Throttled
	result := "ok"
	switch {
	case errors.As(err, &t):
		result = "throttled"
	case errors.Is(err, crm.ErrUnauthorized):
		result = "unauthorized"
	case err != nil:
		result = "error"
	}
	m.crmCalls.WithLabelValues(sinkType, result).Inc()
	m.crmTime.WithLabelValues(sinkType).Observe(took.Seconds())
}
