package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// applyAttempts and foldAttempts bound the retries of one event before it is recorded as failed
// and skipped: one bad event must never stall the view. (A re-sent message comes back after
// the subscriber's poll interval.)
const (
	applyAttempts = 3
	foldAttempts  = 5
)

// effect is one event of a batch and, once folded, what it did, waiting to be written. The
// lead it made is in the cache: only each lead's last state is written.
type effect struct {
	position int64
	leadID   string
	event    domain.Event
	outcome  domain.Outcome
	failure  error // the event could not be decoded or folded, every time it was tried
	// erases is the lead a LeadErased event removed, once folded (the event itself may be
	// let go before the batch is written): its earlier outcomes are rewritten as erased.
	erases uuid.UUID
}

// leadSet is the leads a batch changed, each once, in the order they were first changed.
type leadSet struct {
	has   map[uuid.UUID]bool
	order []uuid.UUID
}

func (s *leadSet) add(id uuid.UUID) {
	if s.has == nil {
		s.has = map[uuid.UUID]bool{}
	}
	if !s.has[id] {
		s.has[id] = true
		s.order = append(s.order, id)
	}
}

// foldBatch applies the batch's events, in order, to their leads (the cached ones, and the
// others loaded in one query), and adds the leads to touched.
func (v *LeadView) foldBatch(ctx context.Context, tx *sql.Tx, batch []effect, touched *leadSet) error {
	var missing []string
	wanted := map[string]bool{}
	for _, ef := range batch {
		if ef.failure != nil || wanted[ef.leadID] {
			continue
		}
		if _, cached := v.cache.leads[ef.event.LeadID]; !cached {
			wanted[ef.leadID] = true
			missing = append(missing, ef.leadID)
		}
	}
	loaded, err := v.loadMany(ctx, tx, missing)
	if err != nil {
		return err
	}
	for id, lead := range loaded {
		v.cache.leads[id] = lead
	}
	for i := range batch {
		ef := &batch[i]
		if id := ef.event.LeadID; ef.failure == nil {
			var lead domain.Lead
			if ef.event.Type == domain.LeadErased {
				ef.erases = id
			}
			if lead, ef.outcome = foldEvent(v.cache.leads[id], ef.event); changesLead(ef.outcome) {
				v.cache.leads[id] = lead
				touched.add(id)
			}
		}
		v.cache.applied = ef.position
	}
	return nil
}

// flush folds and writes the subscriber's batch, in its transaction, just before the group's
// checkpoint.
func (v *LeadView) flush(acked int64) error {
	batch, tx, unavailable := v.batch, v.batchTx, v.unavailable
	v.batch, v.unavailable = nil, nil
	if unavailable != nil {
		v.cache.forget()
		return fmt.Errorf("lead view: batch not folded, the database is unavailable: %w", unavailable)
	}
	if len(batch) == 0 {
		return nil
	}
	if batch[len(batch)-1].position != acked {
		// watermill-sql took Close before seeing our last ack: the batch is rolled back and
		// delivered again, so the cache must forget it too.
		v.cache.forget()
		return fmt.Errorf("lead view: acked position %d is not the last folded %d", acked, batch[len(batch)-1].position)
	}
	return v.write(context.Background(), tx, batch)
}

// write folds a batch and writes it in tx: one query for the leads not cached, one INSERT for
// the outcomes and one upsert for the leads, each lead written once. If that fails (a stored
// lead that no longer decodes, a value the database refuses), the batch is applied again event
// by event, so the bad event is recorded as failed and the others still land.
func (v *LeadView) write(ctx context.Context, tx *sql.Tx, batch []effect) error {
	err := v.inSavepoint(ctx, tx, func() error {
		var touched leadSet
		if err := v.foldBatch(ctx, tx, batch, &touched); err != nil {
			return err
		}
		return v.writeBatch(ctx, tx, batch, touched)
	})
	if err == nil {
		for _, ef := range batch {
			if ef.failure != nil {
				v.failed.Add(1)
			}
		}
		return nil
	}
	v.cache.forget()
	if notTheEvents(err) {
		return err // the batch is delivered again
	}
	v.log.Warn("lead view: batch write failed, applying its events one by one", "err", err)
	for _, ef := range batch {
		if ef.failure != nil {
			v.failed.Add(1)
			err = v.recordFailure(ctx, tx, ef.position, ef.leadID, ef.failure)
		} else {
			err = v.applyAlone(ctx, tx, ef.event)
		}
		if err != nil {
			v.cache.forget()
			return err
		}
	}
	return nil
}

// writeBatch writes the outcomes of a folded batch, and the touched leads' last states.
func (v *LeadView) writeBatch(ctx context.Context, tx *sql.Tx, batch []effect, touched leadSet) error {
	outcomes := v.newBulkInsert(outcomeRows, "ON CONFLICT (position) DO NOTHING")
	leads := v.newBulkInsert(leadRows, `ON CONFLICT (id) DO UPDATE SET source = excluded.source,
		email_normalized = excluded.email_normalized, search = excluded.search,
		last_position = excluded.last_position, state = excluded.state`)
	for _, ef := range batch {
		var reason, failure any
		if ef.outcome.SkipReason != domain.SkipNone {
			reason = string(ef.outcome.SkipReason)
		}
		if ef.failure != nil {
			failure = textColumn(ef.failure.Error())
		}
		if ef.position != 0 && !ef.outcome.Applied { // an applied event is implied: see Outcomes
			if err := outcomes.add(ctx, tx, ef.position, ef.leadID, ef.outcome.Applied, reason, failure); err != nil {
				return err
			}
		}
	}
	if err := outcomes.flush(ctx, tx); err != nil {
		return err
	}
	for _, ef := range batch { // after the outcomes: an erasure rewrites its lead's earlier ones
		if ef.erases != uuid.Nil {
			erased, err := v.erasedOutcomes(ctx, ef.erases, ef.position)
			if err == nil {
				err = v.exec(ctx, tx, erased)
			}
			if err != nil {
				return fmt.Errorf("lead view: erase lead %s: %w", ef.erases, err)
			}
		}
	}
	var erased []any
	for _, id := range touched.order { // an upsert may touch a row once: each lead's last state
		lead := v.cache.leads[id]
		if gone(lead) {
			erased = append(erased, id.String())
			continue
		}
		row, err := newLeadRow(lead)
		if err != nil {
			return err
		}
		if err := leads.add(ctx, tx, row...); err != nil {
			return err
		}
	}
	if err := leads.flush(ctx, tx); err != nil {
		return err
	}
	for chunk := range slices.Chunk(erased, 500) {
		if _, err := tx.ExecContext(ctx, v.q(`DELETE FROM lead_view WHERE id IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`), chunk...); err != nil {
			return fmt.Errorf("lead view: delete %d erased leads: %w", len(chunk), err)
		}
	}
	return nil
}

// applyAlone applies one event in its own savepoint, retried, and records it as failed if it
// still cannot be written, unless that is not the event's fault (see notTheEvents): then the
// error rolls the batch back, to be delivered again.
func (v *LeadView) applyAlone(ctx context.Context, tx *sql.Tx, e domain.Event) error {
	var err error
	for attempt := 1; attempt <= applyAttempts; attempt++ {
		if err = v.apply(ctx, tx, e); err == nil || notTheEvents(err) {
			return err
		}
		v.log.Warn("lead view: apply failed", "position", e.Position, "attempt", attempt, "err", err)
	}
	v.failed.Add(1)
	v.log.Error("lead view: event recorded as failed to apply", "position", e.Position, "lead", e.LeadID, "err", err)
	return v.recordFailure(ctx, tx, e.Position, e.LeadID.String(), err)
}

// notTheEvents reports a failure that says nothing about the events being written: the
// database is unavailable, or the subscriber's transaction ended under the batch (a shutdown
// cancels it, and watermill still asks for the checkpoint of what was acked).
func notTheEvents(err error) bool {
	return eventstore.IsUnavailable(err) || errors.Is(err, sql.ErrTxDone) || errors.Is(err, context.Canceled)
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
