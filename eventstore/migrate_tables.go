package eventstore

import (
	"context"
	"fmt"
)

// migrationLockKey is the advisory lock every schema change on PostgreSQL holds, the log's and
// the other components' alike.
const migrationLockKey = appendLockKey + 1

// MigrateTables runs a component's idempotent schema statements (CREATE ... IF NOT EXISTS) in
// one transaction, under the lock the log's migrations hold on PostgreSQL. CREATE TABLE IF NOT
// EXISTS is not safe against itself there: processes started together on a new database failed
// with duplicate pg_type rows. what names the component in errors.
func (s *Store) MigrateTables(ctx context.Context, what string, stmts []string) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", what, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.dialect.name == "postgres" {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, migrationLockKey)); err != nil {
			return fmt.Errorf("migrate %s: lock: %w", what, err)
		}
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate %s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", what, err)
	}
	return nil
}
