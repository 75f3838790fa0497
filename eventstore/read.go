package eventstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
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

// ReadStream returns a lead's events in version order.
func (s *Store) ReadStream(ctx context.Context, leadID uuid.UUID) ([]domain.Event, error) {
	events, err := s.query(ctx, s.streamQuery(leadID))
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
	var events []domain.Event
	err := s.readPages(ctx, after, limit, f, s.readAllQuery, func(rows *sql.Rows) (int64, error) {
		e, err := scanEvent(rows)
		events = append(events, e)
		return e.Position, err
	})
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return events, nil
}

// maxWindow is the most positions one query of a page covers: see readPages.
const maxWindow = 1 << 16

// readPages reads up to limit events after a position that match f, in position order, a
// window of positions per query: each query covers only (after, after+window], up to f.UpTo or
// the head, so it costs O(window) whatever plan the database picks for it (PostgreSQL without
// table statistics sorted a bitmap scan of everything up to the head, on every page). The
// window starts at the page size and doubles while a filter finds little.
func (s *Store) readPages(ctx context.Context, after int64, limit int, f Filter,
	query func(after int64, limit int, f Filter) wsql.Query, scan func(*sql.Rows) (position int64, err error)) error {
	end := f.UpTo
	if end <= 0 {
		head, err := s.Head(ctx)
		if err != nil {
			return err
		}
		end = head
	}
	window := int64(max(limit, 1))
	for read := 0; read < limit && after < end; {
		wf := f
		wf.UpTo = min(after+window, end)
		asked := limit - read
		n, err := s.scanRows(ctx, query(after, asked, wf), scan)
		if err != nil {
			return err
		}
		if read += n; n < asked { // the window is exhausted
			after, window = wf.UpTo, min(2*window, maxWindow)
		}
	}
	return nil
}

// scanRows runs a query and scans each row; it returns how many there were.
func (s *Store) scanRows(ctx context.Context, q wsql.Query, scan func(*sql.Rows) (int64, error)) (int, error) {
	rows, err := s.reads.QueryContext(ctx, q.Query, q.Args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if _, err := scan(rows); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// Count is the number of events after a position that match f.
func (s *Store) Count(ctx context.Context, after int64, f Filter) (int64, error) {
	q := s.countQuery(after, f)
	var n int64
	if err := s.reads.QueryRowContext(ctx, q.Query, q.Args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events after %d: %w", after, err)
	}
	return n, nil
}

// Head is the position of the newest event, 0 for an empty log.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head sql.NullInt64
	if err := s.reads.QueryRowContext(ctx, headQuery.Query).Scan(&head); err != nil {
		return 0, fmt.Errorf("read log head: %w", err)
	}
	return head.Int64, nil
}

// PositionBefore is the position just before the first event received at or after t: reading
// the log after it starts at t. It is the head when nothing was received since t.
func (s *Store) PositionBefore(ctx context.Context, t time.Time) (int64, error) {
	q := s.positionBeforeQuery(t)
	var first sql.NullInt64
	if err := s.reads.QueryRowContext(ctx, q.Query, q.Args...).Scan(&first); err != nil {
		return 0, fmt.Errorf("find position at %s: %w", t.Format(time.RFC3339), err)
	}
	if !first.Valid {
		return s.Head(ctx)
	}
	return first.Int64 - 1, nil
}

func (s *Store) query(ctx context.Context, q wsql.Query) ([]domain.Event, error) {
	var events []domain.Event
	_, err := s.scanRows(ctx, q, func(rows *sql.Rows) (int64, error) {
		e, err := scanEvent(rows)
		events = append(events, e)
		return e.Position, err
	})
	return events, err
}

// scanEvent reads one row of eventColumns and the data.
func scanEvent(rows *sql.Rows) (domain.Event, error) {
	var (
		e             domain.Event
		id, lead, typ string
		received      any
		payload, key  []byte
		data          []byte
	)
	if err := rows.Scan(&e.Position, &id, &payload, &lead, &e.Version, &typ, &e.Source, &e.Vendor, &received,
		&e.OccurredAt, &e.RawSHA256, &e.Hash, &key, &data); err != nil {
		return e, fmt.Errorf("scan event: %w", err)
	}
	var err error
	if e.ID, e.LeadID, e.ReceivedAt, err = parseHeader(id, lead, received); err != nil {
		return e, err
	}
	e.Type = domain.EventType(typ)
	if e.Raw, data, e.Erased, err = openStored(&e, key, payload, data); err != nil {
		return e, err
	}
	if err := decodeData(data, &e.Data); err != nil {
		return e, fmt.Errorf("data of event %s: %w", id, err)
	}
	return e, nil
}

// parseHeader parses the columns every read of an event scans as text: its id, its lead's id,
// and received_at (a timestamp on PostgreSQL, RFC 3339 text on SQLite).
func parseHeader(id, lead string, received any) (eventID, leadID uuid.UUID, receivedAt time.Time, err error) {
	if eventID, err = uuid.Parse(id); err != nil {
		return eventID, leadID, receivedAt, fmt.Errorf("event id %q: %w", id, err)
	}
	if leadID, err = uuid.Parse(lead); err != nil {
		return eventID, leadID, receivedAt, fmt.Errorf("lead id of event %s: %w", id, err)
	}
	if receivedAt, err = receivedTime(received); err != nil {
		return eventID, leadID, receivedAt, fmt.Errorf("received_at of event %s: %w", id, err)
	}
	return eventID, leadID, receivedAt, nil
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
	gq := s.groupPositionQuery(group)
	err := q.QueryRowContext(ctx, gq.Query, gq.Args...).Scan(&pos)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read position of %s: %w", group, err)
	}
	return pos.Int64, nil
}
