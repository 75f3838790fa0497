package sinks

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Failure is a dead letter: a record a CRM rejected, or an event a webhook receiver never
// acknowledged. It stays listed until a retry delivers it.
type Failure struct {
	SinkID   uuid.UUID
	Item     string // the record key, or the event id
	Kind     string // FailureRecord or FailureEvent
	LeadIDs  []uuid.UUID
	Position int64
	Error    string // the CRM's or receiver's own message
	Attempts int
	Status   string // FailureFailed, or FailureRetrying once a retry was asked for
	FailedAt time.Time
}

// Kinds and statuses of dead letters. Stored: never rename.
const (
	FailureRecord   = "record"
	FailureEvent    = "event"
	FailureFailed   = "failed"
	FailureRetrying = "retrying"
)

// rejection is the dead letter of a record the CRM rejected.
func rejection(s Sink, r record, err error, at time.Time) Failure {
	return Failure{SinkID: s.ID, Item: r.key, Kind: FailureRecord, LeadIDs: r.leadIDs, Position: r.position,
		Error: printable([]byte(err.Error())), Attempts: 1, Status: FailureFailed, FailedAt: at}
}

// letter is a change to the dead letters: an item listed (failure) or resolved (nil).
type letter struct {
	item    string
	failure *Failure
}

// applyLetters applies what happened to each item last: a record rejected, then written, within
// one save is resolved; resolved, then rejected, is listed.
func (r *Registry) applyLetters(ctx context.Context, tx *sql.Tx, sinkID uuid.UUID, letters []letter) error {
	last := map[string]letter{}
	for _, l := range letters {
		last[l.item] = l
	}
	var failures []Failure
	var resolved []string
	for _, l := range letters {
		if last[l.item] != l {
			continue // a later change of the same item wins
		}
		delete(last, l.item)
		if l.failure != nil {
			failures = append(failures, *l.failure)
		} else {
			resolved = append(resolved, l.item)
		}
	}
	if err := r.resolveFailures(ctx, tx, sinkID, resolved); err != nil {
		return err
	}
	return r.writeFailures(ctx, tx, failures)
}

// writeFailures records dead letters; one already listed counts another attempt.
func (r *Registry) writeFailures(ctx context.Context, tx *sql.Tx, failures []Failure) error {
	if err := r.upsert(ctx, tx, `sink_failures (sink_id, item, kind, lead_ids, position, error, attempts, status, failed_at)`,
		`(sink_id, item)`, `lead_ids = excluded.lead_ids, position = excluded.position, error = excluded.error,
		attempts = sink_failures.attempts + excluded.attempts, status = excluded.status, failed_at = excluded.failed_at`,
		len(failures), func(i int) []any { // one per item: see applyLetters
			f := failures[i]
			leads, _ := json.Marshal(f.LeadIDs)
			return []any{f.SinkID.String(), f.Item, f.Kind, string(leads), f.Position, f.Error,
				f.Attempts, FailureFailed, formatTime(f.FailedAt)}
		}); err != nil {
		return fmt.Errorf("record dead letters: %w", err)
	}
	return nil
}

// resolveFailures removes the dead letters of items since delivered.
func (r *Registry) resolveFailures(ctx context.Context, tx *sql.Tx, sinkID uuid.UUID, items []string) error {
	for chunk := range slices.Chunk(items, 500) {
		args := []any{sinkID.String()}
		for _, item := range chunk {
			args = append(args, item)
		}
		if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM sink_failures WHERE sink_id = ? AND item IN (`+placeholders(len(chunk))+`)`), args...); err != nil {
			return fmt.Errorf("resolve dead letters: %w", err)
		}
	}
	return nil
}

const failureColumns = `sink_id, item, kind, lead_ids, position, error, attempts, status, failed_at`

// Failures lists a sink's dead letters in item order after a cursor; the next page's cursor is
// "" at the end.
func (r *Registry) Failures(ctx context.Context, sinkID uuid.UUID, cursor string, limit int) ([]Failure, string, error) {
	after, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, "", invalid("Invalid cursor")
	}
	out, err := r.queryFailures(ctx, `WHERE sink_id = ? AND item > ? ORDER BY item LIMIT ?`, sinkID.String(), string(after), limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[limit-1].Item))
	}
	return out, next, nil
}

// retrying lists up to limit of a sink's dead letters a retry was asked for.
func (r *Registry) retrying(ctx context.Context, sinkID uuid.UUID, limit int) ([]Failure, error) {
	return r.queryFailures(ctx, `WHERE sink_id = ? AND status = ? ORDER BY item LIMIT ?`, sinkID.String(), FailureRetrying, limit)
}

func (r *Registry) queryFailures(ctx context.Context, where string, args ...any) ([]Failure, error) {
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`SELECT `+failureColumns+` FROM sink_failures `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	out := []Failure{}
	for rows.Next() {
		var f Failure
		var sink, leads, at string
		if err := rows.Scan(&sink, &f.Item, &f.Kind, &leads, &f.Position, &f.Error, &f.Attempts, &f.Status, &at); err != nil {
			return nil, fmt.Errorf("read dead letter: %w", err)
		}
		f.SinkID, f.FailedAt = uuid.MustParse(sink), parseTime(at)
		_ = json.Unmarshal([]byte(leads), &f.LeadIDs)
		out = append(out, f)
	}
	return out, rows.Err()
}

// RetryFailures asks for every dead letter of a sink to be delivered again, and reports how
// many. The sink's live delivery takes them up (a paused sink's when it resumes); a record is
// written with its state at that time.
func (r *Registry) RetryFailures(ctx context.Context, sinkID uuid.UUID) (int64, error) {
	if _, err := r.Sink(ctx, sinkID); err != nil {
		return 0, err
	}
	res, err := r.exec(ctx, `UPDATE sink_failures SET status = ? WHERE sink_id = ? AND status = ?`,
		FailureRetrying, sinkID.String(), FailureFailed)
	if err != nil {
		return 0, fmt.Errorf("retry dead letters of sink %s: %w", sinkID, err)
	}
	n, _ := res.RowsAffected()
	r.signal()
	return n, nil
}
