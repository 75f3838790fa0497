package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
)

// A replay covers what the log holds. A start past the head (a from_position beyond it, a
// from_time in the future) or an end not after the start is refused, naming the problem, and
// nothing is recorded; a start at the head is an empty replay, completed at once; a to_position
// past the head stops at the head.
func TestReplayRange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, fastConfig())
		anHourAgo := func() time.Time { return time.Now().Add(-time.Hour) }
		events := l.appendEventsAt(t, "leadflo", 10, 5, anHourAgo)
		head := events[len(events)-1].Position
		rcv := newReceiver(t, nil)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})

		future, now := time.Now().Add(time.Hour), time.Now()
		for _, c := range []struct {
			name string
			n    sinks.NewReplay
			want string
		}{
			{"from_position far past the head", sinks.NewReplay{FromPosition: ptr(int64(999999))},
				fmt.Sprintf("from_position: 999999 is past the log's head %d", head)},
			{"from_position just past the head", sinks.NewReplay{FromPosition: ptr(head + 1)},
				fmt.Sprintf("from_position: %d is past the log's head %d", head+1, head)},
			{"to_position before from_position", sinks.NewReplay{FromPosition: ptr(events[5].Position), ToPosition: ptr(events[2].Position)},
				"to_position: must be after from_position"},
			{"to_position at from_position", sinks.NewReplay{FromPosition: ptr(events[5].Position), ToPosition: ptr(events[5].Position)},
				"to_position: must be after from_position"},
			{"to_position before from_time's start", sinks.NewReplay{FromTime: &now, ToPosition: ptr(events[2].Position)},
				fmt.Sprintf("to_position: %d is not after the replay's start, position %d", events[2].Position, head)},
			{"from_time in the future", sinks.NewReplay{FromTime: &future},
				"from_time: " + future.UTC().Format(time.RFC3339) + " is in the future"},
		} {
			rp, err := l.registry.StartReplay(ctx, s.ID, c.n)
			if !errors.Is(err, sinks.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: replay %+v, err %v; want invalid, %q", c.name, rp, err, c.want)
			}
		}
		if replays, err := l.registry.Replays(ctx, s.ID); err != nil || len(replays) != 0 {
			t.Fatalf("refused replays were recorded: %+v, %v", replays, err)
		}

		// At the head, by position or by a time after the last event: nothing to send.
		halfAnHourAgo := time.Now().Add(-30 * time.Minute)
		for _, n := range []sinks.NewReplay{{FromPosition: ptr(head)}, {FromTime: &halfAnHourAgo}} {
			rp := l.replay(t, s, n)
			for _, got := range []sinks.Replay{rp, l.replayNow(t, rp)} { // as answered, and as stored
				if got.Status != sinks.ReplayCompleted || got.Total != 0 || got.FromPosition != head || got.ToPosition != head || got.Position != head || got.FinishedAt == nil {
					t.Errorf("replay from the head = %+v; want completed at once, empty, from and to the head %d", got, head)
				}
			}
		}

		// A to_position past the head stops at the head.
		rp := l.replay(t, s, sinks.NewReplay{FromPosition: ptr(events[7].Position), ToPosition: ptr(head + 100)})
		if rp.ToPosition != head || rp.Total != 2 {
			t.Fatalf("replay to past the head = to %d, total %d; want to the head %d, 2 events", rp.ToPosition, rp.Total, head)
		}
		waitFor(t, "the replay to complete", 20*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
		checkDelivered(t, rcv.acked(), events[8:])
	})
}
