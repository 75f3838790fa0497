package projections_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
)

// The lead view catches up on a backlog of 100,000 events at a rate that does not depend on
// how far behind it is. The backlog is spread over 5,000 leads, as the fault drill's was, each
// event newer than the last and changing its lead (WhatConverts updates; the drill's LeadFlo
// visitors are heavier: scripts/bench-catchup.sh measures those through the real binary).
// Before, each subscriber poll scanned the whole remaining backlog (about 400 events/s at
// 374,000 behind) and every event rewrote its lead.
//
// The rate is printed (about 21,000 events/s here without the race detector). The test asserts
// only a floor far below it, which the old code did not reach even without the race detector
// (1,049 events/s here), so a busy machine does not fail it.
func TestLeadViewCatchesUpOnABacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 100,000-event log")
	}
	const backlog, leads, floor = 100_000, 5_000, 1_500.0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := openStore(t, "postgres")
	var last int64
	for i := 0; i < backlog; i += 1000 {
		batch := make([]domain.Event, 0, 1000)
		for j := i; j < i+1000; j++ {
			at := time.Date(2026, 1, 1, 0, 0, j, 0, time.UTC).Format(time.RFC3339)
			batch = append(batch, whatConverts(domain.LeadUpdated, strconv.Itoa(j%leads), at, fmt.Sprint("status ", j)))
		}
		stored, err := store.Append(ctx, batch...)
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
		last = stored[len(stored)-1].Position
	}

	view := newView(t, store)
	// The collector as serve sets it (cmd/leadledger/serve.go).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(100 << 20))
	start := time.Now()
	go func() { _ = view.Run(ctx) }()
	if err := view.WaitFor(ctx, last, 10*time.Minute); err != nil {
		pos, _ := view.Position(ctx)
		t.Fatalf("the view reached %d of %d in 10 minutes", pos, last)
	}
	took := time.Since(start)
	rate := float64(backlog) / took.Seconds()
	t.Logf("caught up on %d events (%d leads) in %s: %.0f events/s", backlog, leads, took.Round(time.Millisecond), rate)
	if rate < floor {
		t.Errorf("caught up at %.0f events/s, below the floor of %.0f", rate, floor)
	}
	if n, err := view.FailedEvents(ctx); err != nil || n != 0 {
		t.Errorf("%d events recorded as failed (%v)", n, err)
	}
	if n := view.CatchUpChunks(); n < 4 {
		t.Errorf("caught up in %d chunks; (100,000 - 5,000) / 20,000 makes at least 4", n)
	}
}
