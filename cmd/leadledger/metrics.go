package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/projections"
)

// progressCollector exports, at each scrape, how far the log's readers have come: the log's
// head, the lead view's and the audit tree's positions and lag, and the newest checkpoint's
// age. All are read from the database, so every process shows the same figures, whichever
// one folds the view or grows the tree; a few indexed reads per scrape.
type progressCollector struct {
	store *eventstore.Store
	view  *projections.LeadView
	tree  *audit.Tree // nil: no tree

	up, head, position, lag, checkpointAge *prometheus.Desc
}

func newProgressCollector(store *eventstore.Store, view *projections.LeadView, tree *audit.Tree) *progressCollector {
	projection := []string{"projection"}
	return &progressCollector{store: store, view: view, tree: tree,
		up:            prometheus.NewDesc("leadledger_database_up", "1 if the log's head could be read at this scrape, else 0.", nil, nil),
		head:          prometheus.NewDesc("leadledger_log_head", "Position of the newest event of the log.", nil, nil),
		position:      prometheus.NewDesc("leadledger_projection_position", "Position of the log a projection has applied (lead_view) or holds (audit_tree).", projection, nil),
		lag:           prometheus.NewDesc("leadledger_projection_lag_events", "Events of the log past a projection's position (head - position).", projection, nil),
		checkpointAge: prometheus.NewDesc("leadledger_checkpoint_age_seconds", "Time since the newest signed checkpoint; absent before the first.", nil, nil),
	}
}

func (c *progressCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.head, c.position, c.lag, c.checkpointAge} {
		ch <- d
	}
}

func (c *progressCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	head, err := c.store.Head(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(head))
	positions := map[string]func(context.Context) (int64, error){projections.LeadViewGroup: c.view.Position}
	if c.tree != nil {
		positions["audit_tree"] = c.tree.Position
	}
	for name, position := range positions {
		// A failed read leaves its series out of this scrape rather than show a wrong lag.
		if pos, err := position(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.position, prometheus.GaugeValue, float64(pos), name)
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(max(head-pos, 0)), name)
		}
	}
	if c.tree == nil {
		return
	}
	if cp, err := c.tree.Latest(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.checkpointAge, prometheus.GaugeValue, time.Since(cp.SignedAt).Seconds())
	}
}
