package eventstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Erase erases a lead's personal data: it appends the LeadErased event that records who asked
// and when, and in the same transaction destroys the lead's key (see lead_keys.go), so the raw
// bodies and data of its events can never be read again. A lead whose newest event is already
// its erasure is not erased twice: that event is returned, with already set. It returns
// domain.ErrNotFound for a lead without events.
func (s *Store) Erase(ctx context.Context, leadID uuid.UUID, by string) (erasure domain.Event, already bool, err error) {
	var position int64
	var typ, source string
	q := s.newestOfStreamQuery(leadID)
	err = s.reads.QueryRowContext(ctx, q.Query, q.Args...).Scan(&position, &typ, &source)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Event{}, false, fmt.Errorf("erase lead %s: %w", leadID, domain.ErrNotFound)
	}
	if err != nil {
		return domain.Event{}, false, fmt.Errorf("erase lead %s: %w", leadID, err)
	}
	if domain.EventType(typ) == domain.LeadErased {
		events, err := s.ReadAll(ctx, position-1, 1, Filter{})
		if err != nil || len(events) == 0 {
			return domain.Event{}, false, fmt.Errorf("erase lead %s: read its erasure: %w", leadID, errors.Join(err, domain.ErrNotFound))
		}
		return events[0], true, nil
	}
	events, err := s.Append(ctx, domain.NewErasure(leadID, source, by, time.Now()))
	if err != nil {
		return domain.Event{}, false, fmt.Errorf("erase lead %s: %w", leadID, err)
	}
	return events[0], false, nil
}

// ErasurePosition is the position of a lead's first LeadErased after a position, 0 if none:
// where an erased event's erasure is, for an export that may end before it.
func (s *Store) ErasurePosition(ctx context.Context, leadID uuid.UUID, after int64) (int64, error) {
	var position sql.NullInt64
	q := s.erasurePositionQuery(leadID, after)
	err := s.reads.QueryRowContext(ctx, q.Query, q.Args...).Scan(&position)
	if err != nil {
		return 0, fmt.Errorf("find the erasure of lead %s: %w", leadID, err)
	}
	return position.Int64, nil
}
