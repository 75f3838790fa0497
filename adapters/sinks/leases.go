package sinks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// CursorLease is a cursor some process delivers from now: a sink's live delivery or a replay.
type CursorLease struct {
	Kind     string // "sink" or "replay"
	ID       uuid.UUID
	SinkID   uuid.UUID
	SinkName string
	Owner    string // the process, as eventstore.Store.Instance names it
	Until    time.Time
}

// Leases lists the cursors held now, and by which process: a lease that lapsed is nobody's.
func (r *Registry) Leases(ctx context.Context) ([]CursorLease, error) {
	now := time.Now().UnixMilli()
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`
		SELECT 'sink', id, id, name, lease_owner, lease_until FROM sinks
		WHERE deleted_at IS NULL AND lease_until > ?
		UNION ALL
		SELECT 'replay', p.id, p.sink_id, s.name, p.lease_owner, p.lease_until
		FROM sink_replays p JOIN sinks s ON s.id = p.sink_id
		WHERE p.lease_until > ?
		ORDER BY 1, 4, 2`), now, now)
	if err != nil {
		return nil, fmt.Errorf("read cursor leases: %w", err)
	}
	defer rows.Close()
	var out []CursorLease
	for rows.Next() {
		var l CursorLease
		var until int64
		if err := rows.Scan(&l.Kind, &l.ID, &l.SinkID, &l.SinkName, &l.Owner, &until); err != nil {
			return nil, fmt.Errorf("read cursor leases: %w", err)
		}
		l.Until = time.UnixMilli(until)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cursor leases: %w", err)
	}
	return out, nil
}
