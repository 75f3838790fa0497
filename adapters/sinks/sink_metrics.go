package sinks

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// statuses are every sink status, each a series of leadledger_sink_status: 1 for the sink's
// own, 0 for the others, so a change of state never leaves a gap in a graph.
var statuses = []Status{StatusActive, StatusFailing, StatusPaused, StatusDisabled}

// sinkCollector exports every sink's state at each scrape, read from the database: the same
// figures as GET /v1/sinks, whichever process delivers. Labelled by sink id only (sinks are
// few); the name, which may change, is in leadledger_sink_info.
type sinkCollector struct {
	registry                                 *Registry
	lag, status, delivered, failed, info, up *prometheus.Desc
}

func newSinkCollector(r *Registry) *sinkCollector {
	sink := []string{"sink"}
	return &sinkCollector{registry: r,
		lag:       prometheus.NewDesc("leadledger_sink_lag_events", "Events of the log past a sink's position (head - position).", sink, nil),
		status:    prometheus.NewDesc("leadledger_sink_status", "A sink's status: 1 for the one it is in (active, failing, paused, disabled), 0 for the others.", []string{"sink", "status"}, nil),
		delivered: prometheus.NewDesc("leadledger_sink_delivered_total", "Events a sink's live delivery acknowledged, since it was created (replays not included).", sink, nil),
		failed:    prometheus.NewDesc("leadledger_sink_failed_total", "Events a sink's live delivery gave up after every retry, since it was created.", sink, nil),
		info:      prometheus.NewDesc("leadledger_sink_info", "Every sink's name and type, for joining on the sink label; always 1.", []string{"sink", "name", "type"}, nil),
		up:        prometheus.NewDesc("leadledger_sink_metrics_up", "1 if the sinks' state could be read from the database at this scrape, else 0.", nil, nil),
	}
}

func (c *sinkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lag, c.status, c.delivered, c.failed, c.info, c.up} {
		ch <- d
	}
}

func (c *sinkCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	states, err := c.registry.states(ctx)
	if err != nil {
		// The sinks' series go missing for this scrape; the gauge says why.
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range states.sinks {
		id := s.id
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(max(states.head-s.position, 0)), id)
		for _, st := range statuses {
			v := 0.0
			if s.status == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.status, prometheus.GaugeValue, v, id, string(st))
		}
		ch <- prometheus.MustNewConstMetric(c.delivered, prometheus.CounterValue, float64(s.delivered), id)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.failed), id)
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, id, s.name, s.typ)
	}
}

type sinkState struct {
	id, name, typ     string
	status            Status
	position          int64
	delivered, failed int64
}

type sinkStates struct {
	head  int64
	sinks []sinkState
}

// states reads what the metrics show of every sink, and the log's head: only the columns
// needed, so a scrape neither decrypts credentials nor parses configurations.
func (r *Registry) states(ctx context.Context) (sinkStates, error) {
	head, err := r.store.Head(ctx)
	if err != nil {
		return sinkStates{}, err
	}
	rows, err := r.store.ReadDB().QueryContext(ctx,
		`SELECT id, name, type, status, position, delivered, failed FROM sinks WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return sinkStates{}, fmt.Errorf("read the sinks' state: %w", err)
	}
	defer rows.Close()
	out := sinkStates{head: head}
	for rows.Next() {
		var s sinkState
		if err := rows.Scan(&s.id, &s.name, &s.typ, &s.status, &s.position, &s.delivered, &s.failed); err != nil {
			return sinkStates{}, fmt.Errorf("read the sinks' state: %w", err)
		}
		out.sinks = append(out.sinks, s)
	}
	if err := rows.Err(); err != nil {
		return sinkStates{}, fmt.Errorf("read the sinks' state: %w", err)
	}
	return out, nil
}
