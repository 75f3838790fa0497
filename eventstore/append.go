package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("event store is closed")

// MaxAppend is the most events one Append call may carry.
const MaxAppend = 1000

// Append writes events to the log atomically: all of them commit, or none. An event with
// Version 0 gets the next version of its lead's stream; an explicit version that is taken fails
// with domain.ErrVersionConflict. It returns the events with Version and Position filled in,
// once they are committed.
//
// Concurrent calls share transactions (group commit): a caller waits at most for the commit
// under way plus its own.
func (s *Store) Append(ctx context.Context, events ...domain.Event) ([]domain.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if len(events) > MaxAppend {
		return nil, fmt.Errorf("append %d events: at most %d in one call", len(events), MaxAppend)
	}
	for _, e := range events {
		if err := checkColumns(e); err != nil {
			return nil, err
		}
	}
	req := &appendRequest{ctx: ctx, events: append([]domain.Event(nil), events...), done: make(chan error, 1)}
	if err := s.writer.submit(ctx, req); err != nil {
		return nil, err
	}
	select {
	case err := <-req.done:
		if err != nil {
			return nil, err
		}
		return req.events, nil
	case <-ctx.Done():
		// The batch may still commit; the caller was not told it did, so it is not acknowledged.
		return nil, fmt.Errorf("append: %w", ctx.Err())
	}
}

// checkColumns refuses an event with a NUL in a text column: PostgreSQL's text cannot hold one
// (SQLite can: the two backends would differ). The parsers refuse a NUL in a vendor's time;
// the raw body and the normalised data are stored escaped, and may hold one.
func checkColumns(e domain.Event) error {
	for name, v := range map[string]string{"source": e.Source, "vendor": e.Vendor, "occurred_at": e.OccurredAt, "type": string(e.Type)} {
		if strings.ContainsRune(v, 0) {
			return fmt.Errorf("append event %s: its %s contains a NUL character", e.ID, name)
		}
	}
	return nil
}

// appendTx assigns versions and writes the batch's events through watermill's publisher.
// It works on copies and fills in the requests' events only once committed, so a batch that
// fails can be retried from the versions its callers asked for.
func (s *Store) appendTx(ctx context.Context, batch []*appendRequest) error {
	var events []*domain.Event
	var leads, keyed []uuid.UUID // keyed: the leads with data to seal
	seen, seenKeyed := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	for _, req := range batch {
		for i := range req.events {
			e := req.events[i]
			events = append(events, &e)
			if !seen[e.LeadID] {
				seen[e.LeadID] = true
				leads = append(leads, e.LeadID)
			}
			if sealed(e.Type) && !e.Erased && !seenKeyed[e.LeadID] {
				seenKeyed[e.LeadID] = true
				keyed = append(keyed, e.LeadID)
			}
		}
	}
	start, err := s.beginAppend(ctx, leads, keyed, len(events))
	if err != nil {
		return err
	}
	if err := s.write(ctx, start, events); err != nil {
		start.session.rollback()
		return err
	}
	if err := start.session.commit(); err != nil {
		return fmt.Errorf("commit append: %w", err)
	}
	for _, req := range batch {
		for i := range req.events {
			req.events[i], events = *events[0], events[1:]
		}
	}
	return nil
}

// write inserts the events with their versions and positions.
func (s *Store) write(ctx context.Context, start appendStart, events []*domain.Event) error {
	versions, prev := start.versions, start.prevHash
	for i, e := range events {
		e.Position = start.positions[i]
		if e.Version == 0 {
			e.Version = versions[e.LeadID] + 1
		}
		versions[e.LeadID] = max(versions[e.LeadID], e.Version)
		var err error
		if e.Hash, err = ChainHash(prev, *e); err != nil {
			return fmt.Errorf("append: the newest stored event's hash: %w", err)
		}
		prev = e.Hash
	}
	return s.insert(ctx, start, events)
}

// insert writes events as they are, positions, versions and hashes set, through watermill's
// publisher, their personal data sealed under their leads' keys.
func (s *Store) insert(ctx context.Context, start appendStart, events []*domain.Event) error {
	keys, err := s.batchKeys(ctx, start.session, start.keys, events)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	msgs := make(message.Messages, 0, len(events))
	for i, e := range events {
		msg, err := toMessage(*e, keys[i])
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	publisher, err := wsql.NewPublisher(start.session, wsql.PublisherConfig{SchemaAdapter: s.insertSchema(events)}, nil)
	if err != nil {
		return fmt.Errorf("append publisher: %w", err)
	}
	if err := publisher.Publish(Topic, msgs...); err != nil {
		if s.dialect.isUniqueViolation(err) {
			return fmt.Errorf("append: %w", domain.ErrVersionConflict)
		}
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// insertSchema is the schema adapter for one insert, writing the reserved positions.
func (s *Store) insertSchema(events []*domain.Event) wsql.SchemaAdapter {
	positions := make(map[string]int64, len(events))
	for _, e := range events {
		positions[e.ID.String()] = e.Position
	}
	return s.schema.(positionedSchema).withPositions(positions)
}

// positionedSchema is a schema adapter that can insert messages at reserved positions.
type positionedSchema interface {
	withPositions(map[string]int64) wsql.SchemaAdapter
}
