package eventstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

const migrationsTable = "ledger_migrations"

// migration is one step of the schema: its statements, then its Go code, if any. Steps are
// never edited once released; new ones are added.
type migration struct {
	version    int
	statements func(s *Store) []string
	run        func(ctx context.Context, tx *sql.Tx, s *Store) error
}

var migrations = []migration{
	{version: 1, statements: func(s *Store) []string {
		var stmts []string
		for _, q := range s.schema.SchemaInitializingQueries(Topic) {
			stmts = append(stmts, q.Query)
		}
		for _, q := range s.offsets.SchemaInitializingQueries(Topic) {
			stmts = append(stmts, q.Query)
		}
		blob := map[string]string{"postgres": "BYTEA", "sqlite": "BLOB"}[s.dialect.name]
		return append(stmts, `CREATE TABLE IF NOT EXISTS `+rejectionsTable+` (
			id TEXT PRIMARY KEY,
			source TEXT NOT NULL,
			vendor TEXT NOT NULL,
			received_at TEXT NOT NULL,
			reason TEXT NOT NULL,
			raw `+blob+` NOT NULL,
			raw_sha256 TEXT NOT NULL
		)`)
	}},
	// The hash chain: every event stored before it gets its hash, once, in position order;
	// then the database refuses to change or remove an event.
	{version: 2, statements: func(s *Store) []string {
		return []string{`ALTER TABLE ` + eventsTable + ` ADD COLUMN hash TEXT NOT NULL DEFAULT ''`}
	}, run: func(ctx context.Context, tx *sql.Tx, s *Store) error {
		if err := chainStoredEvents(ctx, tx, s); err != nil {
			return err
		}
		for _, stmt := range s.dialect.appendOnly {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("make the log append-only: %w", err)
			}
		}
		return nil
	}},
	// Crypto-shredding: every lead gets a key, and the personal data of the events stored before
	// it is sealed under it (see lead_keys.go).
	{version: 3, statements: func(s *Store) []string {
		return []string{s.leadKeysTableSQL()}
	}, run: sealStoredEvents},
	// GET /v1/rejections?source= pages a source's rejected webhooks newest first by this index.
	{version: 4, statements: func(s *Store) []string {
		return []string{`CREATE INDEX IF NOT EXISTS ` + rejectionsTable + `_source ON ` + rejectionsTable + ` (source, id)`}
	}},
}

// Migrate brings the schema up to date. It is idempotent and safe to run from several
// processes at once (PostgreSQL: under an advisory lock; SQLite: under its write lock).
func (s *Store) Migrate(ctx context.Context) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.dialect.name == "postgres" {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+fmt.Sprint(migrationLockKey)+`)`); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrationsTable+
		` (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+migrationsTable).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if latest := LatestSchemaVersion(); current > latest {
		return &SchemaVersionError{Found: current, Known: latest}
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.statements(s) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", m.version, err)
			}
		}
		if m.run != nil {
			if err := m.run(ctx, tx, s); err != nil {
				return fmt.Errorf("migration %d: %w", m.version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+migrationsTable+` (version, applied_at) VALUES (`+
			s.dialect.list(1, 2)+`)`, m.version, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	return nil
}

// Tables lists the tables of the store's database (its schema, on PostgreSQL), by name: every
// component's, not only the log's. What `leadledger migrate` reports.
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.dialect.name == "postgres" {
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := s.reads.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		tables = append(tables, name)
	}
	return tables, rows.Err()
}

// SchemaVersion is the log's schema version: the last migration applied, 0 before the first.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	tables, err := s.Tables(ctx)
	if err != nil || !slices.Contains(tables, migrationsTable) {
		return 0, err
	}
	var version int
	if err := s.reads.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+migrationsTable).Scan(&version); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}

// SchemaVersionError says a database's log schema is not the version this build works on.
type SchemaVersionError struct{ Found, Known int }

func (e *SchemaVersionError) Error() string {
	if e.Found > e.Known {
		return fmt.Sprintf("the database's schema is version %d, newer than this leadledger knows (%d): run a newer leadledger", e.Found, e.Known)
	}
	return fmt.Sprintf("the database's schema is version %d, and this leadledger reads version %d: run leadledger migrate first", e.Found, e.Known)
}

// CheckSchemaVersion fails with a *SchemaVersionError unless the log's schema is this build's:
// what a command that only reads checks instead of migrating.
func (s *Store) CheckSchemaVersion(ctx context.Context) error {
	found, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if known := LatestSchemaVersion(); found != known {
		return &SchemaVersionError{Found: found, Known: known}
	}
	return nil
}

// LatestSchemaVersion is the version Migrate brings the log to.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }
