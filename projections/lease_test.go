package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
)

// Two processes run the lead view on one database: one holds its lease and folds, the other
// waits. When the holder dies without a word (here: its database connection closed, as a
// kill -9 would), the other takes over once the lease lapses and folds what came since; a
// process that stops cleanly hands the lease back at once.
func TestLeadViewLeaseFailsOver(t *testing.T) {
	defer projections.SetLeaseTTL(600 * time.Millisecond)()
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := eventstoretest.URL(t, backend)
			storeA, storeB := openURL(t, url), openURL(t, url)
			viewA, viewB := newView(t, storeA), newView(t, storeB)
			holder := func() string {
				t.Helper()
				h, held, err := viewB.Holder(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !held {
					return ""
				}
				return h.Owner
			}
			waitFor := func(what string, ok func() bool) time.Duration {
				t.Helper()
				start := time.Now()
				for !ok() {
					if time.Since(start) > 10*time.Second {
						t.Fatalf("%s: not after 10 s", what)
					}
					time.Sleep(20 * time.Millisecond)
				}
				return time.Since(start)
			}
			run := func(v *projections.LeadView) (stop func()) {
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { _ = v.Run(runCtx); close(done) }()
				return func() { cancel(); <-done }
			}
			appendOne := func(s interface {
				Append(context.Context, ...domain.Event) ([]domain.Event, error)
			}, n string) int64 {
				t.Helper()
				stored, err := s.Append(ctx, whatConverts(domain.LeadCaptured, n, "2026-01-01T10:00:00Z", "New"))
				if err != nil {
					t.Fatal(err)
				}
				return stored[0].Position
			}

			stopA := run(viewA)
			defer stopA()
			waitFor("the first process takes the lease", func() bool { return holder() == storeA.Instance() })
			stopB := run(viewB)
			defer stopB()
			pos := appendOne(storeB, "1")
			if err := viewB.WaitFor(ctx, pos, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1200 * time.Millisecond) // two lease times: the holder keeps renewing it
			if h := holder(); h != storeA.Instance() {
				t.Fatalf("holder after two lease times = %q, want the first process %q", h, storeA.Instance())
			}

			_ = storeA.Close() // the holder is cut off: it can neither fold nor hand the lease back
			pos = appendOne(storeB, "2")
			took := waitFor("the second process takes over", func() bool { return holder() == storeB.Instance() })
			if err := viewB.WaitFor(ctx, pos, 10*time.Second); err != nil {
				t.Fatalf("the event appended after the holder died is not folded: %v", err)
			}
			t.Logf("took over after %s (lease %s)", took.Round(time.Millisecond), 600*time.Millisecond)

			stopB()
			if h := holder(); h != "" {
				t.Errorf("holder after a clean stop = %q, want none: the lease is handed back", h)
			}
		})
	}
}
