package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// RebuildStats says what a rebuild did.
type RebuildStats struct {
	Events   int64         `json:"events"`
	Leads    int           `json:"leads"`
	Position int64         `json:"position"`
	Took     time.Duration `json:"took_ns"`
}

const rebuildPage = 2000 // events read per query

// Rebuild throws the view away and folds the whole log again, in one transaction: readers see
// the old view until the new one is complete, and the group's checkpoint moves with it. It
// holds the group for its whole run, so live consumers wait; on SQLite, appends wait too.
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
	head, err := v.store.Head(ctx)
	if err != nil {
		return RebuildStats{}, err
	}
	for _, stmt := range []string{`DELETE FROM lead_view_events`, `DELETE FROM lead_view`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return RebuildStats{}, fmt.Errorf("drop lead view: %w", err)
		}
	}
	leads := map[uuid.UUID]domain.Lead{}
	stats := RebuildStats{Position: head}
	outcomes := v.newBulkInsert(outcomeRows, "")
	for after := int64(0); after < head; {
		page, err := v.store.ReadWithoutRaw(ctx, after, rebuildPage, eventstore.Filter{})
		if err != nil {
			return RebuildStats{}, err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Position > head {
				break
			}
			lead, o := foldEvent(leads[e.LeadID], e)
			switch {
			case !changesLead(o):
			case gone(lead): // erased: a later event of the lead makes a fresh one
				delete(leads, e.LeadID)
			default:
				leads[e.LeadID] = lead
			}
			if !o.Applied { // an applied event is implied: see Outcomes
				if err := outcomes.add(ctx, tx, e.Position, e.LeadID.String(), false, string(o.SkipReason), nil); err != nil {
					return RebuildStats{}, err
				}
			}
			stats.Events++
			after = e.Position
		}
	}
	if err := outcomes.flush(ctx, tx); err != nil {
		return RebuildStats{}, err
	}
	rows := v.newBulkInsert(leadRows, "")
	for _, lead := range leads {
		row, err := newLeadRow(lead)
		if err != nil {
			return RebuildStats{}, err
		}
		if err := rows.add(ctx, tx, row...); err != nil {
			return RebuildStats{}, err
		}
	}
	if err := rows.flush(ctx, tx); err != nil {
		return RebuildStats{}, err
	}
	if err := v.store.SetGroupPosition(ctx, tx, LeadViewGroup, head); err != nil {
		return RebuildStats{}, err
	}
	if err := tx.Commit(); err != nil {
		return RebuildStats{}, fmt.Errorf("commit rebuild: %w", err)
	}
	v.analyze(ctx)
	stats.Leads, stats.Took = len(leads), time.Since(start)
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
