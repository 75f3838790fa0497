package eventstore_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Every committed append transaction is one observation of its size and commit time; a
// refused append counts as an error by reason; the pools' statistics are exported per pool.
func TestAppendAndPoolMetrics(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, eventstoretest.URL(t, backend))
			reg := prometheus.NewRegistry()
			if err := s.RegisterMetrics(reg); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, newEvent("leadflo", "a", 1), newEvent("leadflo", "b", 1), newEvent("leadflo", "c", 1)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, newEvent("leadflo", "a", 2)); err != nil {
				t.Fatal(err)
			}
			taken := newEvent("leadflo", "a", 3)
			taken.Version = 1
			if _, err := s.Append(ctx, taken); !errors.Is(err, domain.ErrVersionConflict) {
				t.Fatalf("append at a taken version: %v, want a conflict", err)
			}

			families := gather(t, reg)
			if h := histogram(t, families, "leadledger_append_batch_events"); h.GetSampleCount() != 2 || h.GetSampleSum() != 4 {
				t.Errorf("batch size: %d transactions of %v events in all; want 2 of 4", h.GetSampleCount(), h.GetSampleSum())
			}
			if h := histogram(t, families, "leadledger_append_commit_seconds"); h.GetSampleCount() != 2 || h.GetSampleSum() <= 0 {
				t.Errorf("commit time: %d transactions taking %v s; want 2 taking some time", h.GetSampleCount(), h.GetSampleSum())
			}
			if got := labelled(families, "leadledger_append_errors_total", "reason", "conflict"); got != 1 {
				t.Errorf(`leadledger_append_errors_total{reason="conflict"} = %v, want 1`, got)
			}
			want := map[string]bool{"write": true, "read": true}
			if backend == "postgres" {
				want = map[string]bool{"shared": true}
			}
			pools := map[string]bool{}
			for _, m := range families["go_sql_max_open_connections"].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "db_name" {
						pools[l.GetValue()] = true
					}
				}
			}
			if !maps.Equal(pools, want) {
				t.Errorf("go_sql_max_open_connections for pools %v, want %v", pools, want)
			}
			for _, name := range []string{"go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_duration_seconds_total"} {
				if families[name] == nil {
					t.Errorf("%s missing", name)
				}
			}
		})
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out
}

func histogram(t *testing.T, families map[string]*dto.MetricFamily, name string) *dto.Histogram {
	t.Helper()
	f := families[name]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: %v, want one histogram", name, f)
	}
	return f.GetMetric()[0].GetHistogram()
}

// labelled is the value of the counter of a family whose label has a value; -1 if none.
func labelled(families map[string]*dto.MetricFamily, name, label, value string) float64 {
	for _, m := range families[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}
