package eventstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// TestReadRangeAndTime checks the two reads a replay starts from: a bounded range of the log,
// and the position at which a point in time begins.
func TestReadRangeAndTime(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, eventstoretest.URL(t, backend))
			base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			// Received one and a half seconds apart; the half seconds make RFC 3339 texts of
			// different lengths, which a text comparison would order wrongly.
			var positions []int64
			for i := range 4 {
				e := newEvent("leadflo", "range", i)
				e = domain.NewEvent(e.Source, e.Vendor, domain.Parsed{Type: e.Type, LeadKey: "range", Data: e.Data},
					e.Raw, base.Add(time.Duration(i)*1500*time.Millisecond))
				stored, err := s.Append(ctx, e)
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				positions = append(positions, stored[0].Position)
			}

			if n, err := s.Count(ctx, positions[0], eventstore.Filter{UpTo: positions[2]}); err != nil || n != 2 {
				t.Fatalf("count (%d, %d] = %d, %v; want 2", positions[0], positions[2], n, err)
			}
			got, err := s.ReadAll(ctx, positions[0], 100, eventstore.Filter{UpTo: positions[2]})
			if err != nil {
				t.Fatalf("read range: %v", err)
			}
			if len(got) != 2 || got[0].Position != positions[1] || got[1].Position != positions[2] {
				t.Fatalf("read (%d, %d] = %v, want positions %v", positions[0], positions[2], positionsOf(got), positions[1:3])
			}

			envelopes, err := s.ReadEnvelopes(ctx, positions[0], 100, eventstore.Filter{UpTo: positions[2]})
			if err != nil || len(envelopes) != len(got) {
				t.Fatalf("read envelopes: %d, %v; want %d", len(envelopes), err, len(got))
			}
			for i, env := range envelopes {
				e := got[i]
				data, _ := json.Marshal(e.Data)
				if env.ID != e.ID || env.Position != e.Position || env.LeadID != e.LeadID || env.Type != e.Type || env.Source != e.Source ||
					env.Vendor != e.Vendor || env.OccurredAt != e.OccurredAt || !env.ReceivedAt.Equal(e.ReceivedAt) || string(env.Data) != string(data) {
					t.Errorf("envelope %+v\ndoes not match the event %+v (data %s)", env, e, data)
				}
			}

			leads, err := s.ReadLeadPositions(ctx, positions[0], 100, eventstore.Filter{UpTo: positions[2]})
			if err != nil || len(leads) != len(got) || leads[0] != (eventstore.LeadPosition{Position: got[0].Position, LeadID: got[0].LeadID}) ||
				leads[1] != (eventstore.LeadPosition{Position: got[1].Position, LeadID: got[1].LeadID}) {
				t.Errorf("read lead positions: %+v, %v; want the events' positions and leads", leads, err)
			}

			for _, c := range []struct {
				at   time.Time
				want int64
			}{
				{base.Add(-time.Hour), positions[0] - 1},
				{base, positions[0] - 1},
				{base.Add(time.Second), positions[0]},             // after the first, before the second (1.5 s)
				{base.Add(1500 * time.Millisecond), positions[0]}, // exactly the second's time
				{base.Add(3100 * time.Millisecond), positions[2]}, // after the third (3 s)
				{base.Add(time.Hour), positions[3]},               // nothing since: the head
			} {
				pos, err := s.PositionBefore(ctx, c.at)
				if err != nil {
					t.Fatalf("position before %s: %v", c.at, err)
				}
				if pos != c.want {
					t.Errorf("PositionBefore(%s) = %d, want %d", c.at.Format(time.RFC3339Nano), pos, c.want)
				}
			}
		})
	}
}

func positionsOf(events []domain.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Position
	}
	return out
}
