package projections_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A database outage while the view catches up is not the events' fault: none is recorded as
// failed, and the view finishes once the database is back. The outage is a proxy in front of
// the shared PostgreSQL that stops (open connections cut, new ones refused) mid catch-up.
func TestLeadViewRidesOutADatabaseOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proxy, url := eventstoretest.PostgresProxy(t, eventstoretest.PostgresURL(t))
	store, err := eventstore.Open(ctx, eventstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := 0; i < 20_000; i += 1000 {
		batch := make([]domain.Event, 0, 1000)
		for j := i; j < i+1000; j++ {
			batch = append(batch, whatConverts(domain.LeadCaptured, strconv.Itoa(j), fmt.Sprintf("2026-01-01T10:00:%02dZ", j%60), "new"))
		}
		stored, err := store.Append(ctx, batch...)
		if err != nil {
			t.Fatal(err)
		}
		last = stored[len(stored)-1].Position
	}
	view := newView(t, store)
	go func() { _ = view.Run(ctx) }()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if pos, _ := view.Position(ctx); pos > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the view did not start")
		}
	}
	proxy.Stop()
	for deadline := time.Now().Add(time.Minute); view.Failed() == 0; time.Sleep(10 * time.Millisecond) {
		if _, err := view.Position(ctx); err != nil {
			break // the view's database is gone for it too: the outage is under way
		}
		if time.Now().After(deadline) {
			t.Fatal("the outage never reached the view")
		}
	}
	time.Sleep(300 * time.Millisecond) // let the view run into the outage for a while
	proxy.Start()
	if err := view.WaitFor(ctx, last, 2*time.Minute); err != nil {
		t.Fatalf("the view did not finish after the outage: %v", err)
	}
	if n, err := view.FailedEvents(ctx); err != nil || n != 0 || view.Failed() != 0 {
		t.Fatalf("events recorded as failed: %d in the view, %d by this process (%v); an outage is not their fault", n, view.Failed(), err)
	}
}
