package sinks_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// series is one scrape of a registry: every sample by family name and its labels.
type series map[string][]sample

type sample struct {
	labels map[string]string
	value  float64
}

func scrape(t *testing.T, reg *prometheus.Registry) series {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := series{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			}
			out[f.GetName()] = append(out[f.GetName()], s)
		}
	}
	return out
}

// value is the sample of a family whose labels include want; -1 if there is none.
func (s series) value(name string, want map[string]string) float64 {
next:
	for _, smp := range s[name] {
		for k, v := range want {
			if smp.labels[k] != v {
				continue next
			}
		}
		return smp.value
	}
	return -1
}

// A paused sink shows its lag behind the head and the status paused; an active one its
// deliveries and attempts, labelled by sink, and lag 0 once caught up; resumed, the paused one
// catches up and shows active.
func TestSinkMetrics(t *testing.T) {
	forEachBackend(t, testSinkMetrics)
}

func testSinkMetrics(t *testing.T, url string) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	cfg := fastConfig()
	cfg.Registerer = reg
	l := openLedger(t, url, cfg)
	rcv := newReceiver(t, nil)
	paused := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
	if _, err := l.registry.Pause(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	l.stopped(t, "sinks", paused.ID)
	active := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
	const n = 7
	l.appendEvents(t, "leadflo", n, 3)
	waitFor(t, "the active sink's deliveries", 10*time.Second, func() bool { return l.sink(t, active.ID).Delivered == n })

	s := scrape(t, reg)
	p, a := map[string]string{"sink": paused.ID.String()}, map[string]string{"sink": active.ID.String()}
	if got := s.value("leadledger_sink_lag_events", p); got != n {
		t.Errorf("paused sink's lag %v, want %d", got, n)
	}
	if got := s.value("leadledger_sink_status", map[string]string{"sink": paused.ID.String(), "status": "paused"}); got != 1 {
		t.Errorf(`paused sink's status{status="paused"} %v, want 1`, got)
	}
	if got := s.value("leadledger_sink_status", map[string]string{"sink": paused.ID.String(), "status": "active"}); got != 0 {
		t.Errorf(`paused sink's status{status="active"} %v, want 0`, got)
	}
	if got := s.value("leadledger_sink_lag_events", a); got != 0 {
		t.Errorf("active sink's lag %v, want 0", got)
	}
	if got := s.value("leadledger_sink_delivered_total", a); got != n {
		t.Errorf("active sink's delivered %v, want %d", got, n)
	}
	if got := s.value("leadledger_sink_failed_total", a); got != 0 {
		t.Errorf("active sink's failed %v, want 0", got)
	}
	if got := s.value("leadledger_sink_attempts_total", map[string]string{"sink": active.ID.String(), "code": "200"}); got != n {
		t.Errorf(`attempts{sink=active, code="200"} %v, want %d`, got, n)
	}
	if got := s.value("leadledger_sink_attempts_total", p); got != -1 {
		t.Errorf("the paused sink has attempts: %v", got)
	}
	if got := s.value("leadledger_sink_info", map[string]string{"sink": active.ID.String(), "name": "test", "type": "webhook"}); got != 1 {
		t.Errorf("sink info %v, want 1", got)
	}
	if got := s.value("leadledger_sink_metrics_up", nil); got != 1 {
		t.Errorf("leadledger_sink_metrics_up %v, want 1", got)
	}

	if _, err := l.registry.Resume(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the resumed sink's catch-up", 10*time.Second, func() bool {
		s := scrape(t, reg)
		return s.value("leadledger_sink_lag_events", p) == 0 &&
			s.value("leadledger_sink_status", map[string]string{"sink": paused.ID.String(), "status": "active"}) == 1
	})
	if err := l.registry.Delete(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, reg).value("leadledger_sink_lag_events", p); got != -1 {
		t.Errorf("a deleted sink still has a lag: %v", got)
	}
}

// A running replay's progress is exported while it runs, and gone once it has completed.
func TestReplayMetricsGoneWhenDone(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	cfg := fastConfig()
	cfg.Registerer = reg
	l := openLedger(t, eventstoretest.SQLiteURL(t), cfg)
	rcv := newReceiver(t, nil)
	release := rcv.holdAfter(2)
	defer release()
	l.appendEvents(t, "leadflo", 5, 5)
	sink := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
	from := int64(0)
	rp, err := l.registry.StartReplay(ctx, sink.ID, sinks.NewReplay{FromPosition: &from})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"sink": sink.ID.String(), "replay": rp.ID.String()}
	waitFor(t, "the replay's progress in the metrics", 10*time.Second, func() bool {
		s := scrape(t, reg)
		return s.value("leadledger_replay_events", map[string]string{"replay": rp.ID.String(), "state": "delivered"}) == 2
	})
	s := scrape(t, reg)
	if got := s.value("leadledger_replay_events", map[string]string{"replay": rp.ID.String(), "state": "total"}); got != 5 {
		t.Errorf("replay total %v, want 5", got)
	}
	if got := s.value("leadledger_replay_events_per_second", labels); got <= 0 {
		t.Errorf("replay rate %v, want above 0", got)
	}
	release()
	waitFor(t, "the replay's end", 10*time.Second, func() bool {
		got, _ := l.registry.Replay(ctx, rp.ID)
		return got.Status == sinks.ReplayCompleted
	})
	s = scrape(t, reg)
	for _, name := range []string{"leadledger_replay_events", "leadledger_replay_events_per_second", "leadledger_replay_eta_seconds"} {
		if got := s.value(name, labels); got != -1 {
			t.Errorf("%s still exported after the replay completed: %v", name, got)
		}
	}
}
