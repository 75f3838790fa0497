package projections

import (
	"context"
	"fmt"

	"github.com/leadledger/leadledger/eventstore"
)

// catchUpAt says, per database, how far behind the log the view may be and still follow it
// batch by batch (PostgreSQL's subscriber reads 1,000 events a batch, SQLite's 20), and how many
// events one catch-up transaction folds: on SQLite it holds the only writer, and appends wait
// for it, so it stays short.
var catchUpAt = map[string]struct {
	behind int64
	chunk  int
}{
	"postgres": {behind: 5_000, chunk: 20_000},
	"sqlite":   {behind: 1_000, chunk: 2_000},
}

// catchUp folds the log in chunks while the view is far behind it: one transaction per chunk,
// holding the group as Rebuild does, in which every lead the chunk touches is written once. A
// subscriber batch is small and writes every lead it touches, so on a backlog of hundreds of
// thousands of events the view fell further behind than it caught up.
func (v *LeadView) catchUp(ctx context.Context) error {
	for ctx.Err() == nil {
		caughtUp, err := v.catchUpChunk(ctx)
		if err != nil || caughtUp {
			return err
		}
	}
	return nil
}

// catchUpChunk folds the next chunk of the log, unless the view is near enough to its head.
func (v *LeadView) catchUpChunk(ctx context.Context) (caughtUp bool, err error) {
	tx, err := v.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("lead view: begin catch-up: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := v.store.LockGroup(ctx, tx, LeadViewGroup); err != nil {
		return false, err
	}
	if err := v.cache.join(ctx, tx, v); err != nil { // where the group is, now that it is ours
		return false, err
	}
	from := v.cache.applied
	head, err := v.store.Head(ctx)
	if err != nil || head-from <= catchUpAt[v.dialect].behind {
		return err == nil, err
	}
	// Plain reads by position see every event up to the head: appends commit in position order.
	events, err := v.store.ReadAll(ctx, from, catchUpAt[v.dialect].chunk, eventstore.Filter{})
	if err != nil {
		return false, err
	}
	batch := make([]effect, len(events))
	for i, e := range events {
		batch[i] = effect{position: e.Position, leadID: e.LeadID.String(), event: e}
	}
	last := events[len(events)-1].Position
	if err := v.write(ctx, tx, batch); err != nil {
		return false, err
	}
	if err := v.store.SetGroupPosition(ctx, tx, LeadViewGroup, last); err != nil {
		v.cache.forget()
		return false, err
	}
	if err := tx.Commit(); err != nil {
		v.cache.forget()
		return false, fmt.Errorf("lead view: commit catch-up to %d: %w", last, err)
	}
	return false, nil
}

// farBehind reports whether the view is further behind the log than a subscriber batch should
// take on (a cheap guess from this process's own position: catchUp checks under the group lock).
func (v *LeadView) farBehind(ctx context.Context) bool {
	head, err := v.store.Head(ctx)
	return err == nil && head-v.cache.applied > catchUpAt[v.dialect].behind
}
