package sinks

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// progressEvery is how often a running replay logs its progress.
const progressEvery = 10 * time.Second

// reportReplay logs a replay's progress every progressEvery, and its end: the same figures
// the API and /metrics show.
func (m *Manager) reportReplay(ctx context.Context, c cursor, last *time.Time, final bool) {
	if c.replay == nil || (!final && time.Since(*last) < progressEvery) {
		return
	}
	*last = time.Now()
	rp, err := m.registry.Replay(ctx, c.replay.ID)
	if err != nil {
		return
	}
	rate, eta := rp.Progress(time.Now())
	attrs := []any{"replay", rp.ID, "sink", rp.SinkID, "status", rp.Status, "total", rp.Total, "delivered", rp.Delivered,
		"failed", rp.Failed, "records_written", rp.RecordsWritten, "records_unchanged", rp.RecordsUnchanged,
		"events_per_second", int64(rate)}
	if eta != nil {
		attrs = append(attrs, "eta", (time.Duration(*eta) * time.Second).Round(time.Second))
	}
	msg := "replay progress"
	if rp.Status != ReplayRunning {
		msg = "replay " + string(rp.Status)
	}
	m.log.Info(msg, attrs...)
}

// replayCollector exports every running replay's progress at each scrape.
type replayCollector struct {
	registry             *Registry
	events, rate, etaSec *prometheus.Desc
}

func newReplayCollector(r *Registry) *replayCollector {
	labels := []string{"sink", "replay"}
	return &replayCollector{registry: r,
		events: prometheus.NewDesc("leadledger_replay_events", "Events of a running replay, by state (total, delivered, failed).",
			append(labels, "state"), nil),
		rate:   prometheus.NewDesc("leadledger_replay_events_per_second", "A running replay's pace so far.", labels, nil),
		etaSec: prometheus.NewDesc("leadledger_replay_eta_seconds", "A running replay's time left at its pace so far.", labels, nil),
	}
}

func (c *replayCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.rate
	ch <- c.etaSec
}

func (c *replayCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	replays, err := c.registry.running(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, rp := range replays {
		sink, id := rp.SinkID.String(), rp.ID.String()
		for state, n := range map[string]int64{"total": rp.Total, "delivered": rp.Delivered, "failed": rp.Failed} {
			ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(n), sink, id, state)
		}
		rate, eta := rp.Progress(now)
		ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, rate, sink, id)
		if eta != nil {
			ch <- prometheus.MustNewConstMetric(c.etaSec, prometheus.GaugeValue, *eta, sink, id)
		}
	}
}
