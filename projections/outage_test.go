package projections_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A database outage is not the events' fault: none is recorded as failed, and the view finishes
// once the database is back, whether the outage comes while it catches up in chunks or while it
// follows the log batch by batch. The outage is a proxy in front of the shared PostgreSQL that
// stops (open connections cut, new ones refused); events keep coming through another connection.
func TestLeadViewRidesOutADatabaseOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	direct := eventstoretest.PostgresURL(t)
	proxy, url := eventstoretest.PostgresProxy(t, direct)
	appender, viewStore := openURL(t, direct), openURL(t, url)
	seq := 0
	appendEvents := func(n int) int64 {
		batch := make([]domain.Event, n)
		for i := range batch {
			seq++
			at := time.Date(2026, 1, 1, 0, 0, seq, 0, time.UTC).Format(time.RFC3339)
			batch[i] = whatConverts(domain.LeadUpdated, strconv.Itoa(seq%5000), at, strconv.Itoa(seq))
		}
		stored, err := appender.Append(ctx, batch...)
		if err != nil {
			t.Fatal(err)
		}
		return stored[n-1].Position
	}
	for range 60 {
		appendEvents(1000) // three chunks behind
	}
	view := newView(t, viewStore)
	var stops atomic.Int64 // times Run stopped on an error; serve starts it again, so does this test
	go func() {
		for ctx.Err() == nil {
			if err := view.Run(ctx); err != nil {
				stops.Add(1)
			}
		}
	}()
	waitUntil(t, "the first chunk", func() bool { pos, _ := view.Position(ctx); return pos > 0 })
	proxy.Stop() // while it catches up
	waitUntil(t, "the view to run into the outage", func() bool { return stops.Load() > 0 })
	proxy.Start()

	more := make(chan int64)
	go func() { // events keep coming while the view follows the log
		var last int64
		for i := 0; i < 300; i++ {
			last = appendEvents(10)
			time.Sleep(5 * time.Millisecond)
		}
		more <- last
	}()
	waitUntil(t, "the view to follow", func() bool { pos, _ := view.Position(ctx); return pos > 60_000 })
	proxy.Stop()                       // while it follows
	time.Sleep(200 * time.Millisecond) // a few of its polls (every 50 ms) and flushes fail
	proxy.Start()
	last := <-more
	if err := view.WaitFor(ctx, last, 2*time.Minute); err != nil {
		t.Fatalf("the view did not finish after the outages: %v", err)
	}
	if n, err := view.FailedEvents(ctx); err != nil || n != 0 || view.Failed() != 0 {
		t.Fatalf("events recorded as failed: %d in the view, %d by this process (%v); an outage is not their fault", n, view.Failed(), err)
	}
}

// waitUntil polls cond until it holds, for a minute at most.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Stopping the view (a deploy) in the middle of a batch is not the events' fault either: the
// subscriber's transaction is rolled back under the batch, which is delivered again later,
// and nothing is counted as failed.
func TestStoppingTheViewCountsNoFailure(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			store := openStore(t, backend)
			var last int64
			for i := 0; i < 4000; i += 500 {
				batch := make([]domain.Event, 500)
				for j := range batch {
					batch[j] = whatConverts(domain.LeadCaptured, strconv.Itoa(i+j), "2026-01-01T10:00:00Z", "new")
				}
				stored, err := store.Append(context.Background(), batch...)
				if err != nil {
					t.Fatal(err)
				}
				last = stored[len(stored)-1].Position
			}
			view := newView(t, store)
			for stop := 0; stop < 30; stop++ {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { _ = view.Run(ctx); close(done) }()
				time.Sleep(time.Duration(stop) * 2 * time.Millisecond) // stops land all over the first batches
				cancel()
				<-done
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = view.Run(ctx) }()
			if err := view.WaitFor(ctx, last, time.Minute); err != nil {
				t.Fatal(err)
			}
			if n, err := view.FailedEvents(ctx); err != nil || n != 0 || view.Failed() != 0 {
				t.Fatalf("failed events: %d in the view, %d counted by this process (%v); a stop is not a failure", n, view.Failed(), err)
			}
		})
	}
}
