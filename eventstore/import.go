package eventstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Import writes events exported from a log, in position order, with their own positions,
// versions and hashes, in one transaction. Each must continue the chain: its hash is what the
// chain gives after the newest stored event (or the event before it in the batch); an import
// never writes a log that does not verify.
func (s *Store) Import(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	var leads []uuid.UUID
	for _, e := range events {
		leads = append(leads, e.LeadID)
	}
	start, err := s.beginAppend(ctx, leads, nil, 1)
	if err != nil {
		return err
	}
	if err := s.importTx(ctx, start, events); err != nil {
		start.session.rollback()
		return err
	}
	if err := start.session.commit(); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	return nil
}

func (s *Store) importTx(ctx context.Context, start appendStart, events []domain.Event) error {
	prev := start.prevHash
	batch := make([]*domain.Event, len(events))
	for i := range events {
		e := &events[i]
		want, err := ChainHash(prev, *e)
		if err != nil {
			return err
		}
		if want != e.Hash {
			return &BrokenChainError{Position: e.Position, What: "hash", Detail: "the chain gives " + want + ", the import has " + e.Hash}
		}
		prev, batch[i] = e.Hash, e
	}
	if err := s.insert(ctx, start, batch); err != nil {
		return err
	}
	if s.dialect.name == "postgres" { // later appends take positions after the imported ones
		if _, err := start.session.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+eventsTable+`', 'offset'), `+
			`GREATEST((SELECT MAX("offset") FROM `+eventsTable+`), 1))`); err != nil {
			return fmt.Errorf("import: move the position sequence: %w", err)
		}
	}
	return nil
}
