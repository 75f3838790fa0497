package sinks_test

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A sink added with start "beginning" gets the whole log, then new events live, each once,
// signed, in order per lead, while deliveries to different leads overlap.
func TestBeginningThenLive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		old := l.appendEvents(t, "leadflo", 300, 30)
		rcv := newReceiver(t, func(int, delivery) (int, http.Header) {
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond) // let leads overtake each other
			return http.StatusOK, nil
		})
		s := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		waitFor(t, "the old events", 20*time.Second, func() bool { return len(rcv.acked()) >= len(old) })
		live := l.appendEvents(t, "leadflo", 50, 7)
		all := append(old, live...)
		// The cursor moves past an event only once it and every event before it are done: at
		// the head, every request the sink will ever make for these events has been made.
		waitFor(t, "the cursor at the head", 20*time.Second, func() bool { return l.sink(t, s.ID).Position == all[len(all)-1].Position })
		checkDelivered(t, rcv.acked(), all)
		if n := len(rcv.deliveries()); n != len(all) {
			t.Errorf("%d requests for %d events: nothing failed, so nothing should repeat", n, len(all))
		}
		got := l.sink(t, s.ID)
		if got.Delivered != int64(len(all)) || got.Status != sinks.StatusActive || got.Failed != 0 {
			t.Errorf("sink = delivered %d, status %s, failed %d; want %d, active, 0", got.Delivered, got.Status, got.Failed, len(all))
		}
		attempts, err := l.registry.Attempts(context.Background(), s.ID, 0, 1000, &all[0].ID)
		if err != nil || len(attempts) != 1 || attempts[0].StatusCode != 200 || attempts[0].Number != 1 {
			t.Errorf("attempts of the first event = %+v, %v; want one, answered 200", attempts, err)
		}
	})
}

// start "now" delivers only what arrives after the sink was added; filters narrow by type and source.
func TestStartNowAndFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		l.appendEvents(t, "leadflo", 20, 5)
		rcv := newReceiver(t, nil)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{Types: []domain.EventType{domain.LeadCaptured}, Sources: []string{"site-b"}})
		l.appendEvents(t, "site-a", 10, 10)
		added := l.appendEvents(t, "site-b", 15, 10)
		want := added[:10] // the first 10 are LeadCaptured
		// The cursor moves past an event only once it and every event before it are done
		// (delivered, or not the sink's): at the last one, anything else would have arrived.
		waitFor(t, "the cursor past the last event", 20*time.Second, func() bool { return l.sink(t, s.ID).Position == added[len(added)-1].Position })
		checkDelivered(t, rcv.acked(), want)
		if n := len(rcv.deliveries()); n != len(want) {
			t.Errorf("%d deliveries, want %d (only new LeadCaptured events of site-b)", n, len(want))
		}
	})
}

// A receiver that is down for a while gets everything once it is back, in order per lead,
// nothing skipped; meanwhile the sink shows failing with the last error.
func TestReceiverDownThenBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		down := true
		rcv := newReceiver(t, func(int, delivery) (int, http.Header) {
			if down {
				return http.StatusServiceUnavailable, nil
			}
			return http.StatusOK, nil
		})
		s := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 60, 6)
		waitFor(t, "the sink to show failing", 10*time.Second, func() bool { return l.sink(t, s.ID).Status == sinks.StatusFailing })
		if got := l.sink(t, s.ID); got.LastError == "" || got.Delivered != 0 {
			t.Errorf("failing sink = last_error %q, delivered %d; want an error and nothing delivered", got.LastError, got.Delivered)
		}
		rcv.mu.Lock()
		down = false
		rcv.mu.Unlock()
		waitFor(t, "every event", 20*time.Second, func() bool { return len(rcv.acked()) >= len(events) })
		checkDelivered(t, rcv.acked(), events)
		waitFor(t, "the sink active again", 5*time.Second, func() bool { return l.sink(t, s.ID).Status == sinks.StatusActive })
		for _, d := range rcv.deliveries() {
			if d.webhookID != d.body.ID.String() {
				t.Fatalf("a retry changed webhook-id: %s for event %s", d.webhookID, d.body.ID)
			}
		}
	})
}

// A 429 with Retry-After holds the event back as long as the receiver asked, not the
// (much shorter) backoff.
func TestRetryAfterHonoured(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		rcv := newReceiver(t, func(n int, _ delivery) (int, http.Header) {
			if n == 0 {
				return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
			}
			return http.StatusOK, nil
		})
		l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 1, 1)
		waitFor(t, "the retry", 10*time.Second, func() bool { return len(rcv.acked()) == 1 })
		got := rcv.deliveries()
		if len(got) != 2 || got[0].status != http.StatusTooManyRequests {
			t.Fatalf("deliveries = %d (first %d), want a 429 then a 200", len(got), got[0].status)
		}
		if wait := got[1].at.Sub(got[0].at); wait < 950*time.Millisecond {
			t.Errorf("retried after %s; Retry-After asked for 1s", wait)
		}
		checkDelivered(t, rcv.acked(), events)
	})
}

// 410 Gone disables the sink: no more requests until it is resumed, then delivery goes on
// from the event that was refused.
func TestGoneDisablesSink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		gone := true
		rcv := newReceiver(t, func(int, delivery) (int, http.Header) {
			if gone {
				return http.StatusGone, nil
			}
			return http.StatusOK, nil
		})
		s := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 5, 1)
		waitFor(t, "the sink disabled", 10*time.Second, func() bool { return l.sink(t, s.ID).Status == sinks.StatusDisabled })
		l.stopped(t, "sinks", s.ID)
		if n := len(rcv.deliveries()); n != 1 {
			t.Fatalf("%d requests; a disabled sink should have had only the one it refused", n)
		}
		rcv.mu.Lock()
		gone = false
		rcv.mu.Unlock()
		if _, err := l.registry.Resume(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the cursor past every event after resume", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == events[len(events)-1].Position })
		checkDelivered(t, rcv.acked(), events)
		if n := len(rcv.deliveries()); n != 1+len(events) {
			t.Errorf("%d requests, want the refused one and then each event once", n)
		}
	})
}

// One dead sink does not hold back another.
func TestDeadSinkDoesNotSlowOthers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		deadURL := "http://" + ln.Addr().String()
		_ = ln.Close() // nothing listens there: every attempt is refused
		dead := l.addSink(t, deadURL, "beginning", sinks.Filter{})
		rcv := newReceiver(t, nil)
		l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 100, 10)
		waitFor(t, "the live sink to get everything", 10*time.Second, func() bool { return len(rcv.acked()) >= len(events) })
		checkDelivered(t, rcv.acked(), events)
		waitFor(t, "the dead sink to show failing", 10*time.Second, func() bool { return l.sink(t, dead.ID).Status == sinks.StatusFailing })
		if d := l.sink(t, dead.ID); d.Position != 0 || d.Delivered != 0 {
			t.Errorf("dead sink moved: position %d, delivered %d", d.Position, d.Delivered)
		}
	})
}

// Pause stops delivery; resume goes on from where it stopped.
func TestPauseResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		rcv := newReceiver(t, nil)
		s := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		if _, err := l.registry.Pause(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		l.stopped(t, "sinks", s.ID) // pausing stops delivery "within a moment": let that moment pass
		events := l.appendEvents(t, "leadflo", 20, 4)
		l.stopped(t, "sinks", s.ID) // and the engine, with the events in the log, leaves it alone
		if n := len(rcv.deliveries()); n != 0 {
			t.Fatalf("a paused sink received %d requests", n)
		}
		if _, err := l.registry.Resume(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every event after resume", 10*time.Second, func() bool { return len(rcv.acked()) >= len(events) })
		checkDelivered(t, rcv.acked(), events)
	})
}

// A receiver that does not answer within the timeout is retried, with the same webhook-id.
func TestNoAnswerIsRetried(t *testing.T) {
	cfg := fastConfig()
	cfg.Timeout = 500 * time.Millisecond
	l := openLedger(t, eventstoretest.SQLiteURL(t), cfg)
	var mu sync.Mutex
	var ids []string
	never := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		first := len(ids) == 1
		mu.Unlock()
		if first {
			<-never // no answer until the test ends: the ledger gives up on this attempt
		}
	}))
	defer rcv.Close()
	defer close(never)
	s := l.addSink(t, rcv.URL, "beginning", sinks.Filter{})
	events := l.appendEvents(t, "leadflo", 1, 1)
	attempts := func() []sinks.Attempt {
		a, err := l.registry.Attempts(context.Background(), s.ID, 0, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	waitFor(t, "an acknowledged retry on record", 20*time.Second, func() bool {
		a := attempts()
		return len(a) >= 2 && a[len(a)-1].StatusCode == 200
	})
	// On a busy machine a retry may time out too: whatever the count, every attempt before the
	// acknowledged last one is a timeout.
	got := attempts()
	for i, a := range got {
		last := i == len(got)-1
		if a.Number != i+1 || last != (a.StatusCode == 200) || !last && (a.StatusCode != 0 || !strings.Contains(a.Error, "no answer")) {
			t.Errorf("attempts = %+v; want timeouts (no status, \"no answer\") then a 200, numbered from 1", got)
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, id := range ids {
		if id != events[0].ID.String() {
			t.Errorf("request %d: webhook-id %v, want the event id", i+1, id)
		}
	}
}

// A redirect is not an acknowledgement: following it would turn the POST into a bodiless GET.
func TestRedirectIsRetriedNotFollowed(t *testing.T) {
	l := openLedger(t, eventstoretest.SQLiteURL(t), fastConfig())
	rcv := newReceiver(t, func(n int, _ delivery) (int, http.Header) {
		if n == 0 {
			return http.StatusFound, http.Header{"Location": {"/moved"}}
		}
		return http.StatusOK, nil
	})
	l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
	events := l.appendEvents(t, "leadflo", 1, 1)
	waitFor(t, "the retry", 10*time.Second, func() bool { return len(rcv.acked()) == 1 })
	got := rcv.deliveries()
	if len(got) != 2 || got[0].status != http.StatusFound {
		t.Fatalf("%d requests (first answered %d), want the 302 then one retried POST", len(got), got[0].status)
	}
	checkDelivered(t, rcv.acked(), events)
}
