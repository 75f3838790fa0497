package eventstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Filter narrows a read of the global log. Empty lists match everything.
type Filter struct {
	Types   []domain.EventType
	Sources []string
	// UpTo, if positive, bounds the read to positions <= UpTo.
	UpTo int64
}

const selectEvents = `SELECT "offset", uuid, payload, metadata FROM ` + eventsTable

// ReadStream returns a lead's events in version order.
func (s *Store) ReadStream(ctx context.Context, leadID uuid.UUID) ([]domain.Event, error) {
	events, err := s.query(ctx, selectEvents+` WHERE stream_id = `+s.dialect.bind(1)+
		` ORDER BY stream_version`, leadID.String())
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", leadID, err)
	}
	return events, nil
}

// ReadAll returns up to limit events of the global log after a position, in position order.
//
// Paging by position is safe because appends commit in position order (see the package doc):
// no row with a smaller position can commit after a larger one was visible.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int, f Filter) ([]domain.Event, error) {
	where, args := s.where(after, f)
	events, err := s.query(ctx, selectEvents+where+` ORDER BY "offset" LIMIT `+s.dialect.bind(len(args)+1), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return events, nil
}

// Count is the number of events after a position that match f.
func (s *Store) Count(ctx context.Context, after int64, f Filter) (int64, error) {
	where, args := s.where(after, f)
	var n int64
	if err := s.reads.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+eventsTable+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events after %d: %w", after, err)
	}
	return n, nil
}

// where is the WHERE clause, with its arguments, of the events after a position that match f.
func (s *Store) where(after int64, f Filter) (string, []any) {
	where := []string{`"offset" > ` + s.dialect.bind(1)}
	args := []any{after}
	if len(f.Types) > 0 {
		where = append(where, `event_type IN (`+s.dialect.list(len(args)+1, len(f.Types))+`)`)
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	if len(f.Sources) > 0 {
		where = append(where, `source IN (`+s.dialect.list(len(args)+1, len(f.Sources))+`)`)
		for _, src := range f.Sources {
			args = append(args, src)
		}
	}
	if f.UpTo > 0 {
		where = append(where, `"offset" <= `+s.dialect.bind(len(args)+1))
		args = append(args, f.UpTo)
	}
	return ` WHERE ` + strings.Join(where, " AND "), args
}

// Head is the position of the newest event, 0 for an empty log.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head sql.NullInt64
	if err := s.reads.QueryRowContext(ctx, `SELECT MAX("offset") FROM `+eventsTable).Scan(&head); err != nil {
		return 0, fmt.Errorf("read log head: %w", err)
	}
	return head.Int64, nil
}

// PositionBefore is the position just before the first event received at or after t: reading
// the log after it starts at t. It is the head when nothing was received since t.
func (s *Store) PositionBefore(ctx context.Context, t time.Time) (int64, error) {
	received := `received_at >= $1`
	arg := any(t.UTC())
	if s.dialect.name == "sqlite" {
		// received_at is RFC 3339 text with a varying number of digits: compare it as a time.
		received, arg = `julianday(received_at) >= julianday(?)`, t.UTC().Format(time.RFC3339Nano)
	}
	var first sql.NullInt64
	if err := s.reads.QueryRowContext(ctx, `SELECT MIN("offset") FROM `+eventsTable+` WHERE `+received, arg).Scan(&first); err != nil {
		return 0, fmt.Errorf("find position at %s: %w", t.Format(time.RFC3339), err)
	}
	if !first.Valid {
		return s.Head(ctx)
	}
	return first.Int64 - 1, nil
}

func (s *Store) query(ctx context.Context, query string, args ...any) ([]domain.Event, error) {
	rows, err := s.reads.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []domain.Event
	for rows.Next() {
		var (
			pos               int64
			id                string
			payload, metadata []byte
		)
		if err := rows.Scan(&pos, &id, &payload, &metadata); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		msg := message.NewMessage(id, payload)
		if err := json.Unmarshal(metadata, &msg.Metadata); err != nil {
			return nil, fmt.Errorf("metadata of event %s: %w", id, err)
		}
		e, err := DecodeMessage(msg)
		if err != nil {
			return nil, err
		}
		e.Position = pos
		events = append(events, e)
	}
	return events, rows.Err()
}

// GroupPosition is the position up to which a consumer group has acked the log (0 if it has
// not started).
func (s *Store) GroupPosition(ctx context.Context, group string) (int64, error) {
	return s.GroupPositionIn(ctx, s.reads, group)
}

// GroupPositionIn is GroupPosition read through q, e.g. inside a subscriber's transaction.
func (s *Store) GroupPositionIn(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, group string) (int64, error) {
	var pos sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT offset_acked FROM `+offsetsTable+` WHERE consumer_group = `+s.dialect.bind(1), group).Scan(&pos)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read position of %s: %w", group, err)
	}
	return pos.Int64, nil
}
