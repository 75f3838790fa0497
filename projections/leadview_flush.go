package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/leadledger/leadledger/domain"
)

// applyAttempts and foldAttempts bound the retries of one event before it is recorded as failed
// and skipped: one bad event must never stall the view. (A re-sent message comes back after
// the subscriber's poll interval.)
const (
	applyAttempts = 3
	foldAttempts  = 5
)

// effect is what folding one event did, waiting to be written.
type effect struct {
	position int64
	leadID   string
	event    domain.Event
	lead     domain.Lead // the lead after the event
	outcome  domain.Outcome
	failure  error // the event could not be decoded
}

// flush writes the folded batch, in the subscriber's transaction, just before the group's
// checkpoint: one INSERT for the outcomes and one upsert for the leads. If that fails (say one
// event carries a value the database refuses), the batch is applied again event by event, so
// the bad event is recorded as failed and the others still land.
func (v *LeadView) flush(acked int64) error {
	batch, tx := v.batch, v.cache.tx
	v.batch = nil
	if len(batch) == 0 {
		return nil
	}
	if batch[len(batch)-1].position != acked {
		// watermill-sql took Close before seeing our last ack: the batch is rolled back and
		// delivered again, so the cache must forget it too.
		v.cache.forget()
		return fmt.Errorf("lead view: acked position %d is not the last folded %d", acked, batch[len(batch)-1].position)
	}
	ctx := context.Background()
	err := v.inSavepoint(ctx, tx, func() error { return v.writeBatch(ctx, batch) })
	if err == nil {
		for _, ef := range batch {
			if ef.failure != nil {
				v.failed.Add(1)
			}
		}
		return nil
	}
	v.log.Warn("lead view: batch write failed, applying its events one by one", "err", err)
	v.cache.forget()
	for _, ef := range batch {
		if ef.failure != nil {
			v.failed.Add(1)
			err = v.recordFailure(ctx, tx, ef.position, ef.leadID, ef.failure)
		} else {
			err = v.applyAlone(ctx, ef.event)
		}
		if err != nil {
			v.cache.forget()
			return err
		}
	}
	return nil
}

func (v *LeadView) writeBatch(ctx context.Context, batch []effect) error {
	tx := v.cache.tx
	outcomes := newBulkInsert(v.store.Rebind, "lead_view_events (position, lead_id, applied, skip_reason, error)", 5,
		"ON CONFLICT (position) DO NOTHING")
	leads := newBulkInsert(v.store.Rebind, "lead_view (id, source, email_normalized, search, last_position, state)", 6,
		`ON CONFLICT (id) DO UPDATE SET source = excluded.source, email_normalized = excluded.email_normalized,
			search = excluded.search, last_position = excluded.last_position, state = excluded.state`)
	last := map[string]domain.Lead{} // an upsert may touch a row once: write each lead's final state
	var order []string
	for _, ef := range batch {
		var reason, failure any
		if ef.outcome.SkipReason != domain.SkipNone {
			reason = string(ef.outcome.SkipReason)
		}
		if ef.failure != nil {
			failure = ef.failure.Error()
		}
		if ef.position != 0 {
			if err := outcomes.add(ctx, tx, ef.position, ef.leadID, ef.outcome.Applied, reason, failure); err != nil {
				return err
			}
		}
		if ef.failure == nil {
			if _, seen := last[ef.leadID]; !seen {
				order = append(order, ef.leadID)
			}
			last[ef.leadID] = ef.lead
		}
	}
	if err := outcomes.flush(ctx, tx); err != nil {
		return err
	}
	for _, id := range order {
		row, err := newLeadRow(last[id])
		if err != nil {
			return err
		}
		if err := leads.add(ctx, tx, row...); err != nil {
			return err
		}
	}
	return leads.flush(ctx, tx)
}

// applyAlone applies one event in its own savepoint, retried, and records it as failed if it
// still cannot be written.
func (v *LeadView) applyAlone(ctx context.Context, e domain.Event) error {
	var err error
	for attempt := 1; attempt <= applyAttempts; attempt++ {
		if err = v.apply(ctx, v.cache.tx, e); err == nil {
			return nil
		}
		v.log.Warn("lead view: apply failed", "position", e.Position, "attempt", attempt, "err", err)
	}
	v.failed.Add(1)
	v.log.Error("lead view: event recorded as failed to apply", "position", e.Position, "lead", e.LeadID, "err", err)
	return v.recordFailure(ctx, v.cache.tx, e.Position, e.LeadID.String(), err)
}

func (v *LeadView) inSavepoint(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT lead_view_batch"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		_, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT lead_view_batch")
		return errors.Join(err, rbErr)
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT lead_view_batch"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}
