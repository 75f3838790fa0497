package sinks_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
)

// An event a webhook receiver never acknowledged is given up and listed as a dead letter with
// the receiver's answer; the events after it are delivered meanwhile; once the receiver is
// fixed, a retry delivers it (same webhook-id) and the dead letter goes.
func TestWebhookDeadLetterRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		var broken atomic.Bool
		broken.Store(true)
		rcv := newReceiver(t, func(n int, d delivery) (int, http.Header) {
			if broken.Load() && d.body.Position == 2 {
				return http.StatusUnprocessableEntity, nil
			}
			return http.StatusOK, nil
		})
		cfg := fastConfig()
		cfg.Backoff.MaxAttempts = 3
		l := openLedger(t, url, cfg)
		sink := l.addSink(t, rcv.srv.URL, "beginning", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 6, 6)
		waitFor(t, "every event finished", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position == events[5].Position })

		failures, _, err := l.registry.Failures(context.Background(), sink.ID, "", 10)
		if err != nil || len(failures) != 1 {
			t.Fatalf("dead letters %+v (%v): want the one event never acknowledged", failures, err)
		}
		f := failures[0]
		if f.Item != events[1].ID.String() || f.Kind != sinks.FailureEvent || f.Attempts != 3 || !strings.Contains(f.Error, "422") {
			t.Errorf("dead letter %+v: want event %s, 3 attempts, the receiver's 422", f, events[1].ID)
		}
		if len(rcv.acked()) != 5 {
			t.Errorf("%d events acknowledged: the others must not wait for the dead one", len(rcv.acked()))
		}

		broken.Store(false)
		if n, err := l.registry.RetryFailures(context.Background(), sink.ID); err != nil || n != 1 {
			t.Fatalf("retry: %d, %v", n, err)
		}
		waitFor(t, "the retried event acknowledged", 20*time.Second, func() bool {
			left, _, _ := l.registry.Failures(context.Background(), sink.ID, "", 10)
			return len(left) == 0
		})
		acked := rcv.acked()
		if last := acked[len(acked)-1]; last.webhookID != events[1].ID.String() || len(acked) != 6 {
			t.Errorf("after the retry %d acknowledged, last %s: want event %s once more", len(acked), last.webhookID, events[1].ID)
		}
		attempts, err := l.registry.Attempts(context.Background(), sink.ID, 0, 100, &events[1].ID)
		if err != nil || len(attempts) != 4 || attempts[3].Error != "" {
			t.Errorf("attempts of the dead letter: %+v (%v), want 3 failed and the retry", attempts, err)
		}
	})
}
