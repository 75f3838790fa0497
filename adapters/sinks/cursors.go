package sinks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// cursor is one position over the log delivering into a sink: the sink's own live cursor, or
// a replay's.
type cursor struct {
	sink   Sink
	replay *Replay // nil for the live cursor
	edit   int64   // the sink's edits count (see edits) when its stream started
}

func (c cursor) key() string {
	if c.replay != nil {
		return "replay:" + c.replay.ID.String()
	}
	return "sink:" + c.sink.ID.String()
}

func (c cursor) table() string {
	if c.replay != nil {
		return "sink_replays"
	}
	return "sinks"
}

func (c cursor) id() uuid.UUID {
	if c.replay != nil {
		return c.replay.ID
	}
	return c.sink.ID
}

// runnable lists the cursors that should be delivering: those of active or failing sinks, and
// the running replays of such sinks.
func (r *Registry) runnable(ctx context.Context) ([]cursor, error) {
	sinks, err := r.Sinks(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.forgetExpiredOldSecrets(ctx, sinks); err != nil {
		return nil, err
	}
	bySink := map[uuid.UUID]Sink{}
	var out []cursor
	for _, s := range sinks {
		if s.Status == StatusActive || s.Status == StatusFailing {
			bySink[s.ID] = s
			out = append(out, cursor{sink: s})
		}
	}
	replays, err := r.running(ctx)
	if err != nil {
		return nil, err
	}
	for _, rp := range replays {
		if s, ok := bySink[rp.SinkID]; ok {
			out = append(out, cursor{sink: s, replay: &rp})
		}
	}
	return out, nil
}

// running lists the running replays.
func (r *Registry) running(ctx context.Context) ([]Replay, error) {
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`SELECT `+replayColumns+` FROM sink_replays WHERE status = ?`), string(ReplayRunning))
	if err != nil {
		return nil, fmt.Errorf("list running replays: %w", err)
	}
	defer rows.Close()
	var out []Replay
	for rows.Next() {
		rp, err := scanReplay(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, rows.Err()
}

// reread reads a cursor afresh; false when it should no longer deliver.
func (r *Registry) reread(ctx context.Context, c cursor) (cursor, bool, error) {
	sink, err := r.Sink(ctx, c.sink.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	fresh := cursor{sink: sink}
	if c.replay != nil {
		rp, err := r.Replay(ctx, c.replay.ID)
		if err != nil {
			return c, false, err
		}
		fresh.replay = &rp
		if rp.Status != ReplayRunning {
			return fresh, false, nil
		}
	}
	return fresh, sink.Status == StatusActive || sink.Status == StatusFailing, nil
}

// claim takes a cursor's lease for owner, if nobody else holds it.
func (r *Registry) claim(ctx context.Context, c cursor, owner string, until time.Time) (bool, error) {
	now := r.now().UnixMilli()
	res, err := r.exec(ctx, `UPDATE `+c.table()+` SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_owner = ? OR lease_until < ?)`,
		owner, until.UnixMilli(), c.id().String(), owner, now)
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", c.key(), err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// release gives a cursor's lease back, so another process may take it over at once.
func (r *Registry) release(ctx context.Context, c cursor, owner string) error {
	_, err := r.exec(ctx, `UPDATE `+c.table()+` SET lease_until = 0 WHERE id = ? AND lease_owner = ?`, c.id().String(), owner)
	return err
}

// doneAfter lists the events after position that this cursor already finished: acknowledged,
// or given up after maxAttempts. A cursor only moves past a contiguous run of finished events,
// so after a restart these would otherwise be sent again (a given-up one after its lead's later
// events).
func (r *Registry) doneAfter(ctx context.Context, c cursor, position int64, maxAttempts int) (map[int64]bool, error) {
	query, args := `SELECT position FROM sink_attempts WHERE sink_id = ? AND position > ? AND (error = '' OR attempt >= ?) AND NOT manual AND replay_id IS NULL`,
		[]any{c.sink.ID.String(), position, maxAttempts}
	if c.replay != nil {
		query = strings.Replace(query, "replay_id IS NULL", "replay_id = ?", 1)
		args = append(args, c.replay.ID.String())
	}
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("finished events of %s: %w", c.key(), err)
	}
	defer rows.Close()
	done := map[int64]bool{}
	for rows.Next() {
		var pos int64
		if err := rows.Scan(&pos); err != nil {
			return nil, fmt.Errorf("finished events of %s: %w", c.key(), err)
		}
		done[pos] = true
	}
	return done, rows.Err()
}

// progress is what a cursor has done since it was last saved.
type progress struct {
	position          int64
	delivered, failed int64
	attempts          []Attempt
	status            Status // live cursor: active or failing; "" leaves it
	lastError         string // "" leaves it
	gone              bool   // the receiver answered 410: disable the sink
	completed         bool   // replay: every event is done

	// CRM records (a record stream's progress):
	written, unchanged int64       // records written, and found unchanged (not sent)
	synced             []synced    // for the identity map
	forgot             []uuid.UUID // erased leads, forgotten before synced is written: see forget
	letters            []letter    // dead letters listed and resolved, in order
	retryAt            *time.Time  // nil leaves it; zero clears it
}

// wrote takes records the CRM accepted: into the identity map, out of the dead letters.
func (p *progress) wrote(ws ...synced) {
	for _, w := range ws {
		w.record.fields = nil // the identity map keeps their hash, not their values
		p.synced = append(p.synced, w)
		p.letters = append(p.letters, letter{item: w.record.key})
	}
}

// reject lists dead letters.
func (p *progress) reject(fs ...Failure) {
	for _, f := range fs {
		p.letters = append(p.letters, letter{item: f.Item, failure: &f})
	}
}

// resolve takes items out of the dead letters.
func (p *progress) resolve(items ...string) {
	for _, item := range items {
		p.letters = append(p.letters, letter{item: item})
	}
}

// then is this progress followed by newer progress, as one: what a failed save leaves to be
// saved again.
func (p progress) then(newer progress) progress {
	out := newer
	out.delivered += p.delivered
	out.failed += p.failed
	out.written += p.written
	out.unchanged += p.unchanged
	out.attempts = append(p.attempts, newer.attempts...)
	out.synced = append(withoutLeads(p.synced, newer.forgot), newer.synced...) // see forget
	out.forgot = append(slices.Clone(p.forgot), newer.forgot...)
	out.letters = append(p.letters, newer.letters...)
	out.gone = p.gone || newer.gone
	out.completed = p.completed || newer.completed
	if out.status == "" {
		out.status = p.status
	}
	if out.lastError == "" {
		out.lastError = p.lastError
	}
	if out.retryAt == nil {
		out.retryAt = p.retryAt
	}
	return out
}

// empty reports whether there is nothing to save but the lease.
func (p progress) empty() bool {
	return p.delivered == 0 && p.failed == 0 && len(p.attempts) == 0 && p.status == "" && !p.gone && !p.completed &&
		p.written == 0 && p.unchanged == 0 && len(p.synced) == 0 && len(p.forgot) == 0 && len(p.letters) == 0 && p.retryAt == nil
}

// save writes a cursor's progress and its attempts in one transaction and renews its lease.
// It reports false when owner no longer holds the lease (or the sink was deleted): the
// cursor must stop, since another process may be delivering from it.
func (r *Registry) save(ctx context.Context, c cursor, p progress, owner string, leaseUntil time.Time) (bool, error) {
	tx, err := r.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("save %s: %w", c.key(), err)
	}
	defer func() { _ = tx.Rollback() }()
	for chunk := range slices.Chunk(p.attempts, 500) {
		if err := r.insertAttempts(ctx, tx, chunk); err != nil {
			return false, err
		}
	}
	if err := r.forgetLeads(ctx, tx, c.sink.ID, p.forgot); err != nil {
		return false, err
	}
	if err := r.writeIdentities(ctx, tx, c.sink.ID, p.synced); err != nil {
		return false, err
	}
	if err := r.applyLetters(ctx, tx, c.sink.ID, p.letters); err != nil {
		return false, err
	}
	now := formatTime(r.now())
	var res sql.Result
	if c.replay == nil {
		res, err = tx.ExecContext(ctx, r.q(`UPDATE sinks SET position = ?, delivered = delivered + ?, failed = failed + ?,
			last_error = CASE WHEN ? = '' THEN last_error ELSE ? END,
			status = CASE WHEN status IN ('active', 'failing') AND ? <> '' THEN ? ELSE status END,
			retry_at = CASE WHEN ? THEN ? ELSE retry_at END,
			lease_until = ? WHERE id = ? AND lease_owner = ? AND deleted_at IS NULL`),
			p.position, p.delivered, p.failed, p.lastError, p.lastError, string(p.status), string(p.status),
			p.retryAt != nil, retryAtValue(p.retryAt), leaseUntil.UnixMilli(), c.sink.ID.String(), owner)
	} else {
		status := ReplayRunning
		if p.completed {
			status = ReplayCompleted
		}
		res, err = tx.ExecContext(ctx, r.q(`UPDATE sink_replays SET position = ?, delivered = delivered + ?, failed = failed + ?,
			records_written = records_written + ?, records_unchanged = records_unchanged + ?,
			finished_at = CASE WHEN status = 'running' AND ? = 'completed' THEN ? ELSE finished_at END,
			status = CASE WHEN status = 'running' THEN ? ELSE status END,
			lease_until = ? WHERE id = ? AND lease_owner = ?`),
			p.position, p.delivered, p.failed, p.written, p.unchanged, string(status), now, string(status),
			leaseUntil.UnixMilli(), c.replay.ID.String(), owner)
	}
	if err != nil {
		return false, fmt.Errorf("save %s: %w", c.key(), err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if c.replay != nil && p.retryAt != nil { // a replay's park is its sink's: the daily limit is the sink's
		if err := r.parkSink(ctx, tx, c.sink.ID, *p.retryAt, p.lastError); err != nil {
			return false, err
		}
	}
	if p.gone {
		if _, err := tx.ExecContext(ctx, r.q(`UPDATE sinks SET status = 'disabled', last_error = ? WHERE id = ? AND status IN ('active', 'failing')`),
			p.lastError, c.sink.ID.String()); err != nil {
			return false, fmt.Errorf("disable sink %s: %w", c.sink.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("save %s: commit: %w", c.key(), err)
	}
	if p.gone || p.completed {
		r.signal()
	}
	return true, nil
}

// parkSink shows a sink parked by a daily limit until retryAt, or (zero) no longer parked.
func (r *Registry) parkSink(ctx context.Context, tx *sql.Tx, id uuid.UUID, retryAt time.Time, lastError string) error {
	var err error
	if retryAt.IsZero() {
		_, err = tx.ExecContext(ctx, r.q(`UPDATE sinks SET retry_at = NULL, status = CASE WHEN status = 'failing' THEN 'active' ELSE status END
			WHERE id = ? AND retry_at IS NOT NULL`), id.String())
	} else {
		_, err = tx.ExecContext(ctx, r.q(`UPDATE sinks SET retry_at = ?, last_error = ?,
			status = CASE WHEN status = 'active' THEN 'failing' ELSE status END WHERE id = ?`), formatTime(retryAt), lastError, id.String())
	}
	if err != nil {
		return fmt.Errorf("park sink %s: %w", id, err)
	}
	return nil
}

// retryAtValue is a parked sink's retry time as stored: NULL once cleared.
func retryAtValue(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return formatTime(*t)
}

func (r *Registry) insertAttempts(ctx context.Context, tx *sql.Tx, attempts []Attempt) error {
	values := make([]string, len(attempts))
	args := make([]any, 0, len(attempts)*12)
	for i, a := range attempts {
		values[i] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		var replay any
		if a.ReplayID != nil {
			replay = a.ReplayID.String()
		}
		args = append(args, a.SinkID.String(), replay, a.EventID.String(), a.Position, a.LeadID.String(),
			a.Number, a.StatusCode, a.LatencyMS, a.Error, formatTime(a.AttemptedAt), retryAtValue(a.NextAttemptAt), a.Manual)
	}
	_, err := tx.ExecContext(ctx, r.q(`INSERT INTO sink_attempts (sink_id, replay_id, event_id, position, lead_id,
		attempt, status_code, latency_ms, error, attempted_at, next_attempt_at, manual) VALUES `+strings.Join(values, ", ")), args...)
	if err != nil {
		return fmt.Errorf("record %d attempts: %w", len(attempts), err)
	}
	return nil
}
