package eventstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds the few places where PostgreSQL and SQLite differ in plain queries.
type dialect struct {
	name string
	// bind returns the placeholder of the i-th (1-based) argument.
	bind func(i int) string
	// lockAppends serialises append transactions across processes; "" where the database
	// already has a single writer.
	lockAppends string
	// isUniqueViolation reports a broken UNIQUE constraint.
	isUniqueViolation func(error) bool
	// metadataData reads the normalised data, as JSON text, out of a row's metadata.
	metadataData string
	// appendOnly makes the database itself refuse to change or remove an event
	// (eventstoretest.AllowTampering undoes it, for tests that tamper on purpose).
	appendOnly []string
	// allowChange undoes appendOnly: only inside a migration that puts it back.
	allowChange []string
}

// appendLockKey is the advisory lock that serialises appends on PostgreSQL ("leadlog" in ASCII).
const appendLockKey = 0x6c6561646c6f67

var postgresDialect = dialect{
	name:         "postgres",
	bind:         func(i int) string { return fmt.Sprintf("$%d", i) },
	lockAppends:  fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", appendLockKey),
	metadataData: `metadata->>'data'`,
	appendOnly: []string{
		`CREATE OR REPLACE FUNCTION ` + eventsTable + `_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION '` + eventsTable + ` is append-only: % refused', TG_OP; END $$`,
		`CREATE TRIGGER ` + eventsTable + `_append_only BEFORE UPDATE OR DELETE ON ` + eventsTable +
			` FOR EACH ROW EXECUTE FUNCTION ` + eventsTable + `_append_only()`,
		`CREATE TRIGGER ` + eventsTable + `_no_truncate BEFORE TRUNCATE ON ` + eventsTable +
			` FOR EACH STATEMENT EXECUTE FUNCTION ` + eventsTable + `_append_only()`,
	},
	allowChange: []string{
		`DROP TRIGGER IF EXISTS ` + eventsTable + `_append_only ON ` + eventsTable,
		`DROP TRIGGER IF EXISTS ` + eventsTable + `_no_truncate ON ` + eventsTable,
	},
	isUniqueViolation: func(err error) bool {
		var pqErr *pq.Error
		return errors.As(err, &pqErr) && pqErr.Code == "23505"
	},
}

var sqliteDialect = dialect{
	name:         "sqlite",
	bind:         func(int) string { return "?" },
	metadataData: `json_extract(metadata, '$.data')`,
	appendOnly: []string{
		`CREATE TRIGGER IF NOT EXISTS ` + eventsTable + `_no_update BEFORE UPDATE ON ` + eventsTable +
			` BEGIN SELECT RAISE(ABORT, '` + eventsTable + ` is append-only: UPDATE refused'); END`,
		`CREATE TRIGGER IF NOT EXISTS ` + eventsTable + `_no_delete BEFORE DELETE ON ` + eventsTable +
			` BEGIN SELECT RAISE(ABORT, '` + eventsTable + ` is append-only: DELETE refused'); END`,
	},
	allowChange: []string{
		`DROP TRIGGER IF EXISTS ` + eventsTable + `_no_update`,
		`DROP TRIGGER IF EXISTS ` + eventsTable + `_no_delete`,
	},
	isUniqueViolation: func(err error) bool {
		var sqliteErr *sqlite.Error
		return errors.As(err, &sqliteErr) &&
			(sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE ||
				sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
}

// list returns n placeholders for an IN (...) list, numbered from start.
func (d dialect) list(start, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.bind(start + i))
	}
	return b.String()
}

// Rebind turns ? placeholders into the database's own, so one query text serves both
// databases (PostgreSQL numbers them: $1, $2, ...).
func (s *Store) Rebind(query string) string {
	if s.dialect.name != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(s.dialect.bind(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
