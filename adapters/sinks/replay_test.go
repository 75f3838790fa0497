package sinks_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/prometheus/client_golang/prometheus"
)

func (l *ledger) replay(t *testing.T, sink sinks.Sink, n sinks.NewReplay) sinks.Replay {
	t.Helper()
	rp, err := l.registry.StartReplay(context.Background(), sink.ID, n)
	if err != nil {
		t.Fatalf("start replay: %v", err)
	}
	return rp
}

func (l *ledger) replayNow(t *testing.T, id sinks.Replay) sinks.Replay {
	t.Helper()
	rp, err := l.registry.Replay(context.Background(), id.ID)
	if err != nil {
		t.Fatalf("read replay: %v", err)
	}
	return rp
}

func ptr[T any](v T) *T { return &v }

// A replay re-delivers a range of the log beside live delivery, with progress, and completes.
func TestReplayBesideLive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		events := l.appendEvents(t, "leadflo", 120, 12)
		rcv := newReceiver(t, nil)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})

		rp := l.replay(t, s, sinks.NewReplay{FromPosition: ptr(events[19].Position), ToPosition: ptr(events[99].Position)})
		if rp.Total != 80 || rp.Status != sinks.ReplayRunning {
			t.Fatalf("replay = total %d, status %s; want 80, running", rp.Total, rp.Status)
		}
		live := l.appendEvents(t, "leadflo", 10, 3) // delivered live while the replay runs
		waitFor(t, "the replay to complete", 20*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
		got := l.replayNow(t, rp)
		if got.Delivered != 80 || got.Failed != 0 || got.FinishedAt == nil || got.Position != events[99].Position {
			t.Errorf("completed replay = delivered %d, failed %d, finished %v, position %d", got.Delivered, got.Failed, got.FinishedAt, got.Position)
		}
		// Both cursors past their last event: every request either will make has been made.
		waitFor(t, "the live events", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == live[len(live)-1].Position })
		checkDelivered(t, only(rcv.acked(), events), events[20:100])
		checkDelivered(t, only(rcv.acked(), live), live)
		if n := len(rcv.deliveries()); n != 90 {
			t.Errorf("%d requests, want 90: 80 replayed and 10 live", n)
		}
	})
}

// A replay from a time starts at the first event received then; its filter narrows the sink's.
func TestReplayFromTimeWithFilter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		l.appendEventsAt(t, "leadflo", 10, 10, func() time.Time { return time.Now().Add(-time.Minute) })
		from := time.Now().Add(-30 * time.Second)
		later := l.appendEvents(t, "leadflo", 30, 10) // 10 LeadCaptured, then 20 ConversationEnded
		rcv := newReceiver(t, nil)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		rp := l.replay(t, s, sinks.NewReplay{FromTime: &from, Filter: sinks.Filter{Types: []domain.EventType{domain.ConversationEnded}}})
		if rp.Total != 20 || rp.FromPosition != later[0].Position-1 {
			t.Fatalf("replay = total %d from %d; want 20 from %d", rp.Total, rp.FromPosition, later[0].Position-1)
		}
		waitFor(t, "the replay to complete", 10*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
		checkDelivered(t, rcv.acked(), later[10:])
	})
}

// A cancelled replay stops; the sink's live delivery goes on.
func TestCancelReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		events := l.appendEvents(t, "leadflo", 50, 1) // one lead: delivered one at a time
		rcv := newReceiver(t, nil)
		// The 6th request gets no answer: one lead's events go one at a time, so the replay can
		// have sent 6 requests, no more, when it is cancelled, however fast the machine.
		release := rcv.holdAfter(5)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		rp := l.replay(t, s, sinks.NewReplay{FromPosition: ptr(int64(0))})
		waitFor(t, "the replay to start", 10*time.Second, func() bool { return len(rcv.acked()) == 5 })
		if _, err := l.registry.CancelReplay(context.Background(), rp.ID); err != nil {
			t.Fatal(err)
		}
		l.stopped(t, "sink_replays", rp.ID) // the request on hold is abandoned after the stop's grace
		if got := l.replayNow(t, rp); got.Status != sinks.ReplayCancelled {
			t.Errorf("replay status %s, want cancelled", got.Status)
		}
		release()
		live := l.appendEvents(t, "leadflo", 1, 1)
		waitFor(t, "a live event after the cancel", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == live[0].Position })
		checkDelivered(t, only(rcv.acked(), live), live)
		if n := len(only(rcv.deliveries(), events)); n > 6 {
			t.Errorf("a cancelled replay goes on: %d requests for its events, want at most the 6 sent before the cancel", n)
		}
	})
}

// Stopping the engine mid-replay and starting another (a restart) completes the replay and
// live delivery; only events in flight at the stop are delivered twice, with the same id.
func TestRestartResumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		old := l.appendEvents(t, "leadflo", 200, 20)
		rcv := newReceiver(t, nil)
		release := rcv.holdAfter(100) // the stop lands mid-delivery, however fast the machine
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		rp := l.replay(t, s, sinks.NewReplay{FromPosition: ptr(int64(0))})
		live := l.appendEvents(t, "leadflo", 100, 10)
		waitFor(t, "some deliveries", 20*time.Second, func() bool { return len(rcv.acked()) == 100 })
		l.stop() // the requests on hold are abandoned after the stop's grace, to be sent again
		release()
		l.stop = l.startEngine(t, fastConfig())
		waitFor(t, "the replay to complete after the restart", 20*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
		waitFor(t, "live delivery to catch up", 20*time.Second, func() bool { return l.sink(t, s.ID).Position == live[len(live)-1].Position })
		checkDelivered(t, only(rcv.acked(), old), old)
		checkDelivered(t, only(rcv.acked(), live), live)
		// Only what was in flight at the stop (at most Concurrency per cursor) is sent again.
		if got, inFlight := len(rcv.deliveries()), 2*16; got < 300 || got > 300+inFlight {
			t.Errorf("%d requests in all, want 300 plus at most the %d that can be in flight at the stop", got, inFlight)
		}
	})
}

// Stopping the engine while deliveries pour in returns promptly, every time: no worker is left
// waiting to hand in a result nobody reads.
func TestStopWhileDelivering(t *testing.T) {
	l := openLedger(t, eventstoretest.SQLiteURL(t), fastConfig())
	events := l.appendEvents(t, "leadflo", 3000, 300)
	rcv := newReceiver(t, nil)
	s := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
	for round := 1; round <= 5; round++ {
		n := len(rcv.acked())
		waitFor(t, "deliveries", 10*time.Second, func() bool {
			return len(rcv.acked()) > n+100 || l.sink(t, s.ID).Position == events[len(events)-1].Position
		})
		stopped := make(chan struct{})
		go func() { l.stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second): // a hang, not slowness: requests in flight get 2 s
			t.Fatalf("round %d: the engine did not stop within 30s of being asked", round)
		}
		l.stop = l.startEngine(t, fastConfig())
	}
}

// While this process ingests, a replay keeps to its pace (ingest comes first). The pace is a
// budget: by any moment t the replay can have sent at most its burst plus rate × (t − start)
// requests. A slow machine only sends fewer, so the bound holds however busy the machine is,
// while a replay that ignores the pace overruns it within its first deliveries.
func TestReplayGivesWayToIngest(t *testing.T) {
	const rate, burst = 50, 2 // the stream's burst is rate/20, at least 1
	cfg := fastConfig()
	cfg.ReplayRateWhileIngesting = rate
	cfg.IngestWindow = time.Minute // the appends below count as ingest for the whole replay, however slow it is
	l := openLedger(t, eventstoretest.SQLiteURL(t), cfg)
	events := l.appendEvents(t, "leadflo", 50, 10)
	rcv := newReceiver(t, nil)
	s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
	start := time.Now()
	rp := l.replay(t, s, sinks.NewReplay{FromPosition: ptr(int64(0)), ToPosition: ptr(events[len(events)-1].Position)})
	waitFor(t, "the replay to complete", 30*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
	var arrivals []time.Time
	for _, d := range only(rcv.deliveries(), events) {
		arrivals = append(arrivals, d.at)
	}
	slices.SortFunc(arrivals, time.Time.Compare)
	for i, at := range arrivals {
		elapsed := at.Sub(start)
		if budget := burst + rate*elapsed.Seconds(); float64(i+1) > budget {
			t.Fatalf("%d requests %s after the replay started; at %d events/s (burst %d) at most %.1f", i+1, elapsed, rate, burst, budget)
		}
	}
	checkDelivered(t, only(rcv.acked(), events), events)
}

// After a restart from an older saved position, what the cursor had finished past it (an event
// given up, its lead's next event acknowledged) is not sent again: per-lead order holds.
func TestRestartSkipsWhatWasFinished(t *testing.T) {
	cfg := fastConfig()
	cfg.Backoff.MaxAttempts = 3
	l := openLedger(t, eventstoretest.SQLiteURL(t), cfg)
	events := l.appendEvents(t, "leadflo", 2, 1) // one lead: E1 then E2
	rcv := newReceiver(t, func(_ int, d delivery) (int, http.Header) {
		if d.body.ID == events[0].ID {
			return http.StatusInternalServerError, nil // E1 is refused until given up
		}
		return http.StatusOK, nil
	})
	s := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
	waitFor(t, "E1 given up and E2 delivered", 10*time.Second, func() bool {
		got := l.sink(t, s.ID)
		return got.Failed == 1 && got.Delivered == 1
	})
	l.stop()
	// As if the cursor had been saved before E1, with both finished past it.
	if _, err := l.store.DB().Exec(`UPDATE sinks SET position = 0`); err != nil {
		t.Fatal(err)
	}
	before := len(rcv.deliveries())
	l.stop = l.startEngine(t, cfg)
	waitFor(t, "the cursor past both", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == events[1].Position })
	if n := len(rcv.deliveries()) - before; n != 0 {
		t.Errorf("%d events sent again after the restart; the given-up E1 and the delivered E2 were finished", n)
	}
}

// A replay's progress is in the log and in /metrics while it runs, and its end in the log.
func TestReplayProgressReported(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t, nil)
	release := rcv.holdAfter(3)
	defer release()
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	cfg := fastConfig()
	cfg.Registerer, cfg.Logger = reg, slog.New(slog.NewTextHandler(logs, nil))
	l := openLedger(t, eventstoretest.SQLiteURL(t), cfg)
	l.appendEvents(t, "leadflo", 10, 10)
	sink := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{}) // only the replay delivers
	from := int64(0)
	rp, err := l.registry.StartReplay(ctx, sink.ID, sinks.NewReplay{FromPosition: &from})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay's first deliveries", 10*time.Second, func() bool {
		got, _ := l.registry.Replay(ctx, rp.ID)
		return got.Delivered >= 3
	})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total, delivered float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if f.GetName() == "leadledger_replay_events" {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "state" && lp.GetValue() == "total" {
						total = m.GetGauge().GetValue()
					}
					if lp.GetName() == "state" && lp.GetValue() == "delivered" {
						delivered = m.GetGauge().GetValue()
					}
				}
			}
		}
	}
	if total != 10 || delivered < 3 {
		t.Errorf("/metrics: replay total %v, delivered %v; want 10 and at least 3", total, delivered)
	}
	release()
	waitFor(t, "the replay's end in the log", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "replay completed") && strings.Contains(logs.String(), "delivered=10")
	})
}
