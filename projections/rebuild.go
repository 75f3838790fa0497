package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// RebuildStats says what a rebuild did.
type RebuildStats struct {
	Events   int64         `json:"events"`
	Leads    int           `json:"leads"`
	Position int64         `json:"position"`
	Took     time.Duration `json:"took_ns"`
}

// rebuildSizes bound a rebuild's memory, whatever the log's size: it folds chunk events before
// it writes what they changed, and keeps at most keptLeads leads folded (past that, it reads
// them back from what it wrote).
var rebuildSizes = struct{ chunk, keptLeads int }{chunk: 5_000, keptLeads: 5_000}

// Rebuild throws the view away and folds the whole log again, in one transaction: readers see
// the old view until the new one is complete, and the group's checkpoint moves with it. It
// holds the group for its whole run, so live consumers wait; on SQLite, appends wait too.
//
// It folds chunk by chunk as a catch-up does (see catchUp), inside its one transaction: a lead
// met again in a later chunk is read back from the rows the transaction already wrote. (It
// once kept every lead in memory: 1.1 GB at 200,000 leads.)
func (v *LeadView) Rebuild(ctx context.Context) (RebuildStats, error) {
	start := time.Now()
	tx, err := v.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("begin rebuild: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := v.store.LockGroup(ctx, tx, LeadViewGroup); err != nil {
		return RebuildStats{}, err
	}
	for _, stmt := range []string{`DELETE FROM lead_view_events`, `DELETE FROM lead_view`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return RebuildStats{}, fmt.Errorf("drop lead view: %w", err)
		}
	}
	// A fold of its own: the live consumer's cache, if this process runs one, is left alone
	// (it sees the checkpoint move and reads its leads again).
	fold := &LeadView{store: v.store, db: v.db, dialect: v.dialect, log: v.log, retries: map[string]int{},
		cache: leadCache{tx: tx, leads: map[uuid.UUID]domain.Lead{}}}
	// It folds up to the head it finds (and the rest of that chunk): a log that keeps growing
	// under a busy ingest is never chased for ever; the live consumer takes it from there.
	head, err := v.store.Head(ctx)
	if err != nil {
		return RebuildStats{}, err
	}
	var stats RebuildStats
	for stats.Position < head {
		end, outcomes, touched, err := fold.foldChunk(ctx, tx, stats.Position, rebuildSizes.chunk)
		if err == nil {
			err = fold.writeBatch(ctx, tx, outcomes, touched)
		}
		if err != nil {
			return RebuildStats{}, fmt.Errorf("rebuild after %d: %w", stats.Position, err)
		}
		if len(outcomes) == 0 {
			break
		}
		stats.Events += int64(len(outcomes))
		stats.Position = end
		if len(fold.cache.leads) > rebuildSizes.keptLeads {
			fold.cache.leads = map[uuid.UUID]domain.Lead{}
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM lead_view`).Scan(&stats.Leads); err != nil {
		return RebuildStats{}, fmt.Errorf("count the rebuilt leads: %w", err)
	}
	if err := v.store.SetGroupPosition(ctx, tx, LeadViewGroup, stats.Position); err != nil {
		return RebuildStats{}, err
	}
	if err := tx.Commit(); err != nil {
		return RebuildStats{}, fmt.Errorf("commit rebuild: %w", err)
	}
	v.analyze(ctx)
	stats.Took = time.Since(start)
	return stats, nil
}

// analyze gives PostgreSQL's planner the view's new shape after it grew at once (a rebuild, a
// catch-up) rather than when autovacuum gets round to it: without statistics it counted the
// failed events by reading every outcome instead of their partial index.
func (v *LeadView) analyze(ctx context.Context) {
	if v.dialect != "postgres" {
		return
	}
	if _, err := v.store.DB().ExecContext(ctx, `ANALYZE lead_view, lead_view_events`); err != nil {
		v.log.Warn("lead view: analyze", "err", err)
	}
}
