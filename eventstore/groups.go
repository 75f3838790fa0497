package eventstore

import (
	"context"
	"database/sql"
	"fmt"
)

// LockGroup makes tx the only one advancing a consumer group until it ends: watermill's
// subscribers of the group wait for it (PostgreSQL: the group's row, locked; SQLite: tx holds
// the only writer).
func (s *Store) LockGroup(ctx context.Context, tx *sql.Tx, group string) error {
	for _, q := range s.offsets.BeforeSubscribingQueries(Topic, group) {
		if _, err := tx.ExecContext(ctx, q.Query, q.Args...); err != nil {
			return fmt.Errorf("create group %s: %w", group, err)
		}
	}
	if s.dialect.name != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM `+offsetsTable+` WHERE consumer_group = $1 FOR UPDATE`, group); err != nil {
		return fmt.Errorf("lock group %s: %w", group, err)
	}
	return nil
}

// SetGroupPosition moves a consumer group so that it next reads the event after position, in
// watermill's own terms (on PostgreSQL also the transaction id of that event), inside tx.
func (s *Store) SetGroupPosition(ctx context.Context, tx *sql.Tx, group string, position int64) error {
	query := `INSERT INTO ` + offsetsTable + ` (consumer_group, offset_acked) VALUES (?, ?)
		ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`
	if s.dialect.name == "postgres" {
		query = `INSERT INTO ` + offsetsTable + ` (consumer_group, offset_acked, last_processed_transaction_id)
			VALUES ($1, $2, COALESCE((SELECT transaction_id FROM ` + eventsTable + ` WHERE "offset" = $2), '0'))
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked,
				last_processed_transaction_id = excluded.last_processed_transaction_id`
	}
	if _, err := tx.ExecContext(ctx, query, group, position); err != nil {
		return fmt.Errorf("set position of %s: %w", group, err)
	}
	return nil
}
