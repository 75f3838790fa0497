package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
)

// snapshot is everything the view says: every lead and the outcome of each of its events.
func snapshot(t *testing.T, store *eventstore.Store, v *projections.LeadView) string {
	t.Helper()
	ctx := context.Background()
	leads, _, err := v.Leads(ctx, projections.LeadFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	type leadWithOutcomes struct {
		Lead     domain.Lead
		Outcomes map[int64]projections.Outcome
	}
	var all []leadWithOutcomes
	for _, l := range leads {
		outcomes, err := v.Outcomes(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		events, err := store.ReadStream(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		each := map[int64]projections.Outcome{}
		for _, e := range events {
			each[e.Position] = outcomes.Of(e.Position)
		}
		all = append(all, leadWithOutcomes{l, each})
	}
	out, _ := json.Marshal(all)
	return string(out)
}

// mixedWorkload appends new leads, updates in and out of order, re-sends, and conversations
// that arrive before their visitor, a hundred events an append.
func mixedWorkload(t *testing.T, store *eventstore.Store, n int) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var last int64
	var batch []domain.Event
	for i := 0; i < n; i++ {
		lead := fmt.Sprint(rng.IntN(n/5 + 1))
		day := fmt.Sprintf("2026-01-%02dT10:00:00Z", 1+rng.IntN(28))
		var e domain.Event
		switch rng.IntN(4) {
		case 0:
			e = whatConverts(domain.LeadCaptured, lead, day, "New")
		case 1, 2:
			e = whatConverts(domain.LeadUpdated, lead, day, []string{"Completed", "Abandoned", "Quoted"}[rng.IntN(3)])
		default:
			conv := domain.LeadData{ExternalID: "vis_" + lead, Conversation: &domain.Conversation{ID: "conv_" + lead, MessageCount: "3"}}
			e = domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.ConversationEnded, LeadKey: "vis_" + lead, OccurredAt: day, Data: conv}, []byte(`{}`), time.Now())
		}
		if batch = append(batch, e); len(batch) == 100 || i == n-1 {
			stored, err := store.Append(context.Background(), batch...)
			if err != nil {
				t.Fatal(err)
			}
			last, batch = stored[len(stored)-1].Position, nil
		}
	}
	return last
}

func TestRebuildReproducesTheLiveView(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := openStore(t, backend)
			view := newView(t, store)
			go func() { _ = view.Run(ctx) }()
			head := mixedWorkload(t, store, 400)
			if err := view.WaitFor(ctx, head, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			live := snapshot(t, store, view)
			// In one chunk; then 7 events at a time, keeping no lead folded between chunks,
			// as a log far larger than a chunk is rebuilt: each lead is read back from the
			// rows the rebuild wrote.
			for _, sizes := range [][2]int{{20_000, 20_000}, {7, 0}} {
				restore := projections.SetRebuildSizes(sizes[0], sizes[1])
				stats, err := view.Rebuild(ctx)
				restore()
				if err != nil {
					t.Fatalf("rebuild in chunks of %d: %v", sizes[0], err)
				}
				if stats.Events != 400 || stats.Position != head {
					t.Fatalf("rebuild in chunks of %d: stats = %+v, want 400 events up to %d", sizes[0], stats, head)
				}
				if rebuilt := snapshot(t, store, view); rebuilt != live {
					t.Fatalf("rebuilt in chunks of %d, the view differs from the live one\nlive:    %.600s\nrebuilt: %.600s", sizes[0], live, rebuilt)
				}
			}
			// The live consumer carries on after the rebuild, from where it left the group.
			more := mixedWorkload(t, store, 20)
			if err := view.WaitFor(ctx, more, 10*time.Second); err != nil {
				t.Fatalf("the view did not carry on after a rebuild: %v", err)
			}
		})
	}
}

// A view that starts far behind the log catches up in chunks (see catchUp), then follows it
// batch by batch: the view it ends with is the one a rebuild gives.
func TestCatchUpReproducesTheRebuiltView(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := openStore(t, backend)
			view := newView(t, store)
			// Far behind (see catchUpAt): it catches up in chunks, then follows batch by batch.
			mixedWorkload(t, store, map[string]int{"postgres": 8_000, "sqlite": 4_000}[backend])
			go func() { _ = view.Run(ctx) }()
			head := mixedWorkload(t, store, 300) // appended while it catches up
			if err := view.WaitFor(ctx, head, time.Minute); err != nil {
				t.Fatal(err)
			}
			caughtUp := snapshot(t, store, view)
			if _, err := view.Rebuild(ctx); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			if rebuilt := snapshot(t, store, view); rebuilt != caughtUp {
				t.Fatalf("the rebuilt view differs from the one caught up\ncaught up: %.600s\nrebuilt:   %.600s", caughtUp, rebuilt)
			}
		})
	}
}
