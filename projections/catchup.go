package projections

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// catchUpAt says, per database, how far behind the log the view may be and still follow it
// batch by batch (PostgreSQL's subscriber reads 1,000 events a batch, SQLite's 20), and how many
// events one catch-up transaction folds: on SQLite it holds the only writer, and appends wait
// for it, so it stays short. On PostgreSQL, chunks of 5,000 caught up 15-20 % faster than
// 20,000 under serve's 100 MiB soft memory limit (less for the collector to mark).
var catchUpAt = map[string]struct {
	behind int64
	chunk  int
}{
	"postgres": {behind: 5_000, chunk: 5_000},
	"sqlite":   {behind: 1_000, chunk: 2_000},
}

// catchUpPage is how many events a catch-up reads at a time: a chunk's events are folded page
// by page and let go, so memory holds one page, the chunk's outcomes and its leads.
const catchUpPage = 2_000

// catchUp folds the log in chunks while the view is far behind it: one transaction per chunk,
// holding the group as Rebuild does, in which every lead the chunk touches is written once. A
// subscriber batch is small and writes every lead it touches, so on a backlog of hundreds of
// thousands of events the view fell further behind than it caught up.
//
// A chunk that cannot be written is left to the subscriber, which isolates a bad event and
// takes the range in smaller transactions: the view follows the log batch by batch past it.
func (v *LeadView) catchUp(ctx context.Context) error {
	for chunks := 0; ctx.Err() == nil && !v.following(); chunks++ {
		caughtUp, end, err := v.catchUpChunk(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && end > 0:
			v.followUntil = end
			if eventstore.IsUnavailable(err) {
				return err // Run stops; when it is started again it follows the log past end
			}
			v.log.Warn("lead view: a catch-up chunk failed; following the log batch by batch past it",
				"up_to", end, "err", err)
			return nil
		case err != nil:
			return err
		case caughtUp:
			if chunks > 0 {
				v.analyze(ctx)
			}
			return nil
		}
	}
	return nil
}

// catchUpChunk folds the next chunk of the log, unless the view is near enough to its head.
// end is the position the chunk reached, when it failed.
func (v *LeadView) catchUpChunk(ctx context.Context) (caughtUp bool, end int64, err error) {
	tx, err := v.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return false, 0, fmt.Errorf("lead view: begin catch-up: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := v.store.LockGroup(ctx, tx, LeadViewGroup); err != nil {
		return false, 0, err
	}
	if err := v.cache.join(ctx, tx, v); err != nil { // where the group is, now that it is ours
		return false, 0, err
	}
	head, err := v.store.Head(ctx)
	if err != nil || head-v.cache.applied <= catchUpAt[v.dialect].behind {
		return err == nil, 0, err
	}
	end, outcomes, touched, err := v.foldChunk(ctx, tx, v.cache.applied, catchUpAt[v.dialect].chunk)
	if err == nil {
		err = v.writeBatch(ctx, tx, outcomes, touched)
	}
	if err == nil {
		err = v.store.SetGroupPosition(ctx, tx, LeadViewGroup, end)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		v.cache.forget()
		return false, end, fmt.Errorf("lead view: catch up to %d: %w", end, err)
	}
	v.chunks.Add(1)
	return false, end, nil
}

// foldChunk folds up to n events after a position, page by page, reading the next page while
// it folds one. Plain reads by position see every event up to the head: appends commit in
// position order.
func (v *LeadView) foldChunk(ctx context.Context, tx *sql.Tx, after int64, n int) (end int64, outcomes []effect, touched leadSet, err error) {
	type page struct {
		events []domain.Event
		err    error
	}
	read := func(after int64, limit int) <-chan page {
		c := make(chan page, 1) // the reader never waits, even when the fold stops early
		go func() {
			events, err := v.store.ReadWithoutRaw(ctx, after, limit, eventstore.Filter{})
			c <- page{events, err}
		}()
		return c
	}
	next := read(after, min(catchUpPage, n))
	for end = after; ; {
		p := <-next
		if p.err != nil || len(p.events) == 0 {
			return end, outcomes, touched, p.err
		}
		end = p.events[len(p.events)-1].Position
		if left := n - len(outcomes) - len(p.events); left > 0 {
			next = read(end, min(catchUpPage, left))
		} else {
			next = nil
		}
		batch := make([]effect, len(p.events))
		for i, e := range p.events {
			batch[i] = effect{position: e.Position, leadID: e.LeadID.String(), event: e}
		}
		if err := v.foldBatch(ctx, tx, batch, &touched); err != nil {
			return end, outcomes, touched, err
		}
		for _, ef := range batch {
			ef.event = domain.Event{} // folded: only its outcome is written
			outcomes = append(outcomes, ef)
		}
		if next == nil {
			return end, outcomes, touched, nil
		}
	}
}

// farBehind reports whether the view is further behind the log than a subscriber batch should
// take on (a cheap guess from this process's own position: catchUp checks under the group lock).
func (v *LeadView) farBehind(ctx context.Context) bool {
	if v.cache.applied < 0 || v.following() { // not known yet, or following on purpose
		return false
	}
	head, err := v.store.Head(ctx)
	return err == nil && head-v.cache.applied > catchUpAt[v.dialect].behind
}

// following reports whether the view follows the log batch by batch past a failed chunk.
func (v *LeadView) following() bool { return v.followUntil > 0 && v.cache.applied < v.followUntil }
