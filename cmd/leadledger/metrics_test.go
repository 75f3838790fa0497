package main

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
)

// The lead view and the tree, behind the log by N events, show lag N; once the tree has grown
// and a checkpoint is signed, the tree's lag is 0 and the checkpoint's age is a moment.
func TestProgressMetrics(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store, err := eventstore.Open(ctx, eventstore.Config{URL: eventstoretest.URL(t, backend)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			view, err := projections.NewLeadView(ctx, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			checkpoints := newCheckpointer(t, store)
			reg := prometheus.NewRegistry()
			reg.MustRegister(newProgressCollector(store, view, checkpoints.Tree))

			const n = 6
			for range n {
				p := domain.Parsed{Type: domain.LeadCaptured, LeadKey: "v", Data: domain.LeadData{ExternalID: "v"}}
				if _, err := store.Append(ctx, domain.NewEvent("leadflo", "leadflo", p, []byte{'{', '}'}, time.Now())); err != nil {
					t.Fatal(err)
				}
			}
			head, _ := store.Head(ctx)
			want := map[string]float64{
				"leadledger_database_up": 1, "leadledger_log_head": float64(head),
				`leadledger_projection_lag_events{projection="lead_view"}`:  n,
				`leadledger_projection_lag_events{projection="audit_tree"}`: n,
				`leadledger_projection_position{projection="lead_view"}`:    float64(head - n),
			}
			checkValues(t, reg, want)
			if _, ok := samples(t, reg)["leadledger_checkpoint_age_seconds"]; ok {
				t.Errorf("a checkpoint age before the first checkpoint")
			}

			if _, err := checkpoints.Step(ctx); err != nil {
				t.Fatal(err)
			}
			want[`leadledger_projection_lag_events{projection="audit_tree"}`] = 0
			want[`leadledger_projection_position{projection="audit_tree"}`] = float64(head)
			checkValues(t, reg, want)
			if age, ok := samples(t, reg)["leadledger_checkpoint_age_seconds"]; !ok || age < 0 || age > 60 {
				t.Errorf("checkpoint age %v s, want a moment", age)
			}
		})
	}
}

// samples gathers reg: every gauge's and counter's value by name{label="value",...}.
func samples(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			sort.Strings(labels)
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out
}

func checkValues(t *testing.T, reg prometheus.Gatherer, want map[string]float64) {
	t.Helper()
	got := samples(t, reg)
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (exported: %v), want %v", k, g, ok, v)
		}
	}
}
