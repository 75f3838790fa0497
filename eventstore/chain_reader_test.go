package eventstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A chain reader opens every raw body with its lead's key whether it read all keys up front
// (few leads) or keeps only a couple and looks the others up page by page; a lead erased and
// back has its old events read erased and its new one opened with its new key, also by a
// reader that kept the old key.
func TestChainReaderOpensWithTheRightKey(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			var sent []domain.Event
			for round := range 3 {
				for lead := range 5 {
					sent = append(sent, newEvent("leadflo", fmt.Sprintf("lead-%d", lead), round*5+lead))
				}
			}
			stored, err := s.Append(ctx, sent...)
			if err != nil {
				t.Fatal(err)
			}
			for _, keep := range []int{1000, 1} {
				reader, err := s.NewChainReader(ctx, keep)
				if err != nil {
					t.Fatal(err)
				}
				defer reader.Close()
				var read []domain.Event
				for after := int64(0); after < stored[len(stored)-1].Position; { // pages of 4
					page, err := reader.ReadChain(ctx, after, 0, 4)
					if err != nil {
						t.Fatal(err)
					}
					read, after = append(read, page...), page[len(page)-1].Position
				}
				for i, e := range read {
					if e.Erased || !bytes.Equal(e.Raw, sent[i].Raw) || e.Hash != stored[i].Hash {
						t.Errorf("keeping %d keys, event %d: erased %v, raw %q, want %q", keep, e.Position, e.Erased, e.Raw, sent[i].Raw)
					}
				}
			}

			kept, err := s.NewChainReader(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			defer kept.Close()
			if _, err := kept.ReadChain(ctx, 0, 0, 100); err != nil {
				t.Fatal(err)
			}
			lead0 := stored[0].LeadID
			erasure, _, err := s.Erase(ctx, lead0, "ops")
			if err != nil {
				t.Fatal(err)
			}
			back := newEvent("leadflo", "lead-0", 99)
			if _, err := s.Append(ctx, back); err != nil {
				t.Fatal(err)
			}
			fresh, err := s.NewChainReader(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			for name, reader := range map[string]*eventstore.ChainReader{"a reader that kept the old key": kept, "a new reader": fresh} {
				after := stored[len(stored)-1].Position
				if name == "a new reader" {
					after = 0
				}
				read, err := reader.ReadChain(ctx, after, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				last := read[len(read)-1]
				if last.Erased || !bytes.Equal(last.Raw, back.Raw) {
					t.Errorf("%s: the event after the erasure reads erased %v, raw %q", name, last.Erased, last.Raw)
				}
				if got := read[len(read)-2]; got.ID != erasure.ID || got.Erased {
					t.Errorf("%s: the erasure reads as %s, erased %v", name, got.Type, got.Erased)
				}
				if name == "a new reader" {
					for _, e := range read[:len(stored)] {
						if (e.LeadID == lead0) != e.Erased {
							t.Errorf("event %d of lead %s reads erased %v", e.Position, e.LeadID, e.Erased)
						}
					}
				}
			}
		})
	}
}
