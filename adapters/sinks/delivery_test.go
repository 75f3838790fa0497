package sinks_test

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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
		waitFor(t, "the live events", 20*time.Second, func() bool { return len(rcv.acked()) >= len(all) })
		checkDelivered(t, rcv.acked(), all)
		if n := len(rcv.deliveries()); n != len(all) {
			t.Errorf("%d requests for %d events: nothing failed, so nothing should repeat", n, len(all))
		}
		waitFor(t, "the cursor at the head", 5*time.Second, func() bool { return l.sink(t, s.ID).Position == all[len(all)-1].Position })
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
		l.addSink(t, rcv.srv.URL, "now", sinks.Filter{Types: []domain.EventType{domain.LeadCaptured}, Sources: []string{"site-b"}})
		l.appendEvents(t, "site-a", 10, 10)
		want := l.appendEvents(t, "site-b", 15, 10)[:10] // the first 10 are LeadCaptured
		waitFor(t, "the matching events", 10*time.Second, func() bool { return len(rcv.acked()) >= len(want) })
		time.Sleep(200 * time.Millisecond) // anything else would have arrived by now
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
		n := len(rcv.deliveries())
		time.Sleep(300 * time.Millisecond)
		if len(rcv.deliveries()) != n {
			t.Fatalf("a disabled sink still receives requests")
		}
		rcv.mu.Lock()
		gone = false
		rcv.mu.Unlock()
		if _, err := l.registry.Resume(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every event after resume", 10*time.Second, func() bool { return len(rcv.acked()) >= len(events) })
		checkDelivered(t, rcv.acked(), events)
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
		events := l.appendEvents(t, "leadflo", 20, 4)
		time.Sleep(300 * time.Millisecond)
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
	cfg.Timeout = 200 * time.Millisecond
	l := openLedger(t, eventstoretest.SQLiteURL(t), cfg)
	var calls atomic.Int32
	var ids sync.Map
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		ids.Store(n, r.Header.Get("webhook-id"))
		if n == 1 {
			time.Sleep(time.Second) // past the timeout: the ledger gives up on this attempt
		}
	}))
	defer rcv.Close()
	s := l.addSink(t, rcv.URL, "beginning", sinks.Filter{})
	events := l.appendEvents(t, "leadflo", 1, 1)
	waitFor(t, "the retry on record", 10*time.Second, func() bool {
		attempts, _ := l.registry.Attempts(context.Background(), s.ID, 0, 10, nil)
		return len(attempts) >= 2
	})
	attempts, _ := l.registry.Attempts(context.Background(), s.ID, 0, 10, nil)
	if len(attempts) != 2 || attempts[0].StatusCode != 0 || attempts[0].Error == "" || attempts[1].StatusCode != 200 || attempts[1].Number != 2 {
		t.Errorf("attempts = %+v; want a timed-out first attempt (no status, an error), then a 200 as attempt 2", attempts)
	}
	for n := int32(1); n <= 2; n++ {
		if id, _ := ids.Load(n); id != events[0].ID.String() {
			t.Errorf("request %d: webhook-id %v, want the event id", n, id)
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
