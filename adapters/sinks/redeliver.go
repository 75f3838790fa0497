package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// ErrNotForSinkType says an operation makes no sense for the sink's type (redelivering one
// event to a CRM, which is written the lead's state, not sent events).
var ErrNotForSinkType = errors.New("not for this sink type")

// Redeliver sends one event of the log to a webhook sink again now, signed, with the event id
// as webhook-id as every delivery of it, so the receiver deduplicates. The attempt is recorded
// as manual: it counts for no cursor, which goes on as it would have.
func (r *Registry) Redeliver(ctx context.Context, eventID, sinkID uuid.UUID) (Attempt, error) {
	s, err := r.Sink(ctx, sinkID)
	if err != nil {
		return Attempt{}, err
	}
	if s.Type != TypeWebhook {
		return Attempt{}, fmt.Errorf("redeliver to a %s sink: %w", s.Type, ErrNotForSinkType)
	}
	position, err := r.store.PositionOf(ctx, eventID)
	if err != nil {
		return Attempt{}, fmt.Errorf("event %s: %w", eventID, err)
	}
	events, err := r.store.ReadEnvelopes(ctx, position-1, 1, eventstore.Filter{UpTo: position})
	if err != nil {
		return Attempt{}, fmt.Errorf("read event %s: %w", eventID, err)
	}
	if len(events) == 0 || events[0].ID != eventID {
		return Attempt{}, fmt.Errorf("event %s: %w", eventID, domain.ErrNotFound)
	}
	e := events[0]
	body, err := json.Marshal(newWebhookBody(e))
	if err != nil {
		return Attempt{}, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	at := r.now().UTC()
	sent := r.sendNow(ctx, s, e.ID.String(), body)
	a := Attempt{SinkID: s.ID, EventID: e.ID, Position: e.Position, LeadID: e.LeadID, StatusCode: sent.StatusCode,
		LatencyMS: float64(sent.Latency.Microseconds()) / 1000, Error: sent.Error, AttemptedAt: at, Manual: true}
	if err := r.recordManual(ctx, &a); err != nil {
		return Attempt{}, err
	}
	return a, nil
}

// recordManual numbers a manual attempt after every earlier attempt of its event at the sink,
// and saves it; a delivered one resolves the event's dead letter (not one a retry holds).
func (r *Registry) recordManual(ctx context.Context, a *Attempt) error {
	tx, err := r.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record redelivery: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.QueryRowContext(ctx, r.q(`SELECT COALESCE(MAX(attempt), 0) + 1 FROM sink_attempts WHERE sink_id = ? AND event_id = ?`),
		a.SinkID.String(), a.EventID.String()).Scan(&a.Number); err != nil {
		return fmt.Errorf("number redelivery: %w", err)
	}
	if err := tx.QueryRowContext(ctx, r.q(`INSERT INTO sink_attempts (sink_id, replay_id, event_id, position, lead_id,
		attempt, status_code, latency_ms, error, attempted_at, manual) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.SinkID.String(), a.EventID.String(), a.Position, a.LeadID.String(), a.Number, a.StatusCode, a.LatencyMS, a.Error,
		formatTime(a.AttemptedAt), true).Scan(&a.ID); err != nil {
		return fmt.Errorf("record redelivery: %w", err)
	}
	if a.Error == "" { // delivered: its dead letter, if it was given up, is resolved
		if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM sink_failures WHERE sink_id = ? AND item = ? AND kind = ? AND status = ?`),
			a.SinkID.String(), a.EventID.String(), FailureEvent, FailureFailed); err != nil {
			return fmt.Errorf("resolve the redelivered event's dead letter: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record redelivery: %w", err)
	}
	return nil
}
