package sinks

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	attempts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadledger_sink_attempts_total",
		Help: "Delivery attempts to sinks, by the receiver's status code (0: no answer).",
	}, []string{"code"})}
	if reg != nil {
		if err := reg.Register(m.attempts); err != nil && !errors.As(err, &prometheus.AlreadyRegisteredError{}) {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) attempt(r result) {
	m.attempts.WithLabelValues(strconv.Itoa(r.statusCode)).Inc()
}
