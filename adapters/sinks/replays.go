package sinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// StartReplay records a replay of a sink: the events after the start position (given, or
// found from a time) up to to_position (the log's head by default) that match both the sink's
// filter and the replay's. Its total is counted now, so progress can be followed.
//
// A replay only covers what the log holds: a start past the head (a from_position beyond it,
// a from_time in the future) is refused, as is a to_position not after the start. A start at
// the head is an empty replay, completed at once; a to_position past the head stops at it.
func (r *Registry) StartReplay(ctx context.Context, sinkID uuid.UUID, n NewReplay) (Replay, error) {
	if err := n.Validate(); err != nil {
		return Replay{}, err
	}
	now := r.now().UTC()
	if n.FromTime != nil && n.FromTime.After(now) {
		return Replay{}, invalid("Invalid from_time: %s is in the future (the server's time is %s)",
			n.FromTime.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
	}
	sink, err := r.Sink(ctx, sinkID)
	if err != nil {
		return Replay{}, err
	}
	if n.OnlyChanged && sink.Mode != ModeSnapshot {
		return Replay{}, invalid("Invalid only_changed: it is for CRM sinks in snapshot mode")
	}
	rp := Replay{ID: uuid.Must(uuid.NewV7()), SinkID: sinkID, Status: ReplayRunning, Filter: n.Filter, CreatedAt: now,
		OnlyChanged: n.OnlyChanged}
	if n.FromPosition != nil {
		rp.FromPosition = *n.FromPosition
	} else if rp.FromPosition, err = r.store.PositionBefore(ctx, *n.FromTime); err != nil {
		return Replay{}, err
	}
	head, err := r.store.Head(ctx) // read after the start, so a start found from a time is never past it
	if err != nil {
		return Replay{}, err
	}
	rp.ToPosition = head
	if rp.FromPosition > head {
		return Replay{}, invalid("Invalid from_position: %d is past the log's head %d", rp.FromPosition, head)
	}
	if n.ToPosition != nil {
		if *n.ToPosition <= rp.FromPosition { // from_time's start is only known now
			return Replay{}, invalid("Invalid to_position: %d is not after the replay's start, position %d", *n.ToPosition, rp.FromPosition)
		}
		rp.ToPosition = min(*n.ToPosition, head)
	}
	rp.Position = rp.FromPosition
	if rp.ToPosition > rp.FromPosition {
		if rp.Total, err = r.store.Count(ctx, rp.FromPosition, eventsFilter(sink, sink.Filter.and(rp.Filter)).store(rp.ToPosition)); err != nil {
			return Replay{}, err
		}
	}
	if rp.Total == 0 {
		rp.Status, rp.Position, rp.FinishedAt = ReplayCompleted, rp.ToPosition, &rp.CreatedAt
	}
	filter, _ := json.Marshal(rp.Filter)
	var finished any
	if rp.FinishedAt != nil {
		finished = formatTime(*rp.FinishedAt)
	}
	if _, err := r.exec(ctx, `INSERT INTO sink_replays (id, sink_id, status, from_position, to_position, filter,
		position, total, created_at, finished_at, only_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rp.ID.String(), sinkID.String(), string(rp.Status), rp.FromPosition, rp.ToPosition, string(filter),
		rp.Position, rp.Total, formatTime(rp.CreatedAt), finished, rp.OnlyChanged); err != nil {
		return Replay{}, fmt.Errorf("record replay: %w", err)
	}
	r.signal()
	return rp, nil
}

const replayColumns = `id, sink_id, status, from_position, to_position, filter, position, total, delivered, failed, created_at, finished_at,
	only_changed, records_written, records_unchanged`

// Replay returns one replay; domain.ErrNotFound if there is none.
func (r *Registry) Replay(ctx context.Context, id uuid.UUID) (Replay, error) {
	rp, err := scanReplay(r.store.ReadDB().QueryRowContext(ctx, r.q(`SELECT `+replayColumns+` FROM sink_replays WHERE id = ?`), id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return Replay{}, fmt.Errorf("replay %s: %w", id, domain.ErrNotFound)
	}
	return rp, err
}

// Replays lists a sink's replays, oldest first.
func (r *Registry) Replays(ctx context.Context, sinkID uuid.UUID) ([]Replay, error) {
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`SELECT `+replayColumns+` FROM sink_replays WHERE sink_id = ? ORDER BY id`), sinkID.String())
	if err != nil {
		return nil, fmt.Errorf("list replays: %w", err)
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

// CancelReplay stops a running replay; what it delivered stays delivered.
func (r *Registry) CancelReplay(ctx context.Context, id uuid.UUID) (Replay, error) {
	rp, err := r.Replay(ctx, id)
	if err != nil {
		return Replay{}, err
	}
	if rp.Status == ReplayRunning {
		if _, err := r.exec(ctx, `UPDATE sink_replays SET status = ?, finished_at = ? WHERE id = ? AND status = ?`,
			string(ReplayCancelled), formatTime(r.now()), id.String(), string(ReplayRunning)); err != nil {
			return Replay{}, fmt.Errorf("cancel replay %s: %w", id, err)
		}
		r.signal()
	}
	return r.Replay(ctx, id)
}

func scanReplay(row interface{ Scan(...any) error }) (Replay, error) {
	var rp Replay
	var id, sinkID, status, filter, created string
	var finished sql.NullString
	if err := row.Scan(&id, &sinkID, &status, &rp.FromPosition, &rp.ToPosition, &filter, &rp.Position,
		&rp.Total, &rp.Delivered, &rp.Failed, &created, &finished, &rp.OnlyChanged, &rp.RecordsWritten, &rp.RecordsUnchanged); err != nil {
		return Replay{}, fmt.Errorf("read replay: %w", err)
	}
	rp.ID, rp.SinkID, rp.Status, rp.CreatedAt = uuid.MustParse(id), uuid.MustParse(sinkID), ReplayStatus(status), parseTime(created)
	if finished.Valid {
		t := parseTime(finished.String)
		rp.FinishedAt = &t
	}
	if err := json.Unmarshal([]byte(filter), &rp.Filter); err != nil {
		return Replay{}, fmt.Errorf("filter of replay %s: %w", id, err)
	}
	return rp, nil
}
