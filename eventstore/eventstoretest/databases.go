// Package eventstoretest gives tests a real, empty database: a fresh SQLite file, or a fresh
// schema in the test PostgreSQL. There are no fakes: the suite runs against both.
package eventstoretest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/lib/pq" // the driver the ledger uses
)

// DefaultPostgres is the test PostgreSQL when LEDGER_TEST_POSTGRES is not set.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backends are the database kinds every store test runs against.
var Backends = []string{"sqlite", "postgres"}

// URL returns the URL of a fresh database of the given backend, removed when the test ends.
func URL(t testing.TB, backend string) string {
	t.Helper()
	if backend == "postgres" {
		return PostgresURL(t)
	}
	return SQLiteURL(t)
}

// SQLiteURL returns a new SQLite file in the test's temporary directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
}

// PostgresURL creates an empty schema in the test PostgreSQL and returns a URL whose
// search_path is that schema. A PostgreSQL that cannot be reached fails the test: the
// PostgreSQL tests are never skipped (scripts/test.sh starts a server when there is none).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("LEDGER_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("open test PostgreSQL %s: %v", redact(base), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("test PostgreSQL at %s is not usable (run scripts/test.sh, which starts one, or set LEDGER_TEST_POSTGRES): %v", redact(base), err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse LEDGER_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// AllowTampering drops the triggers that make the log append-only, so that a test can change
// a stored event the way an attacker with database access would, and check that verification
// finds it.
// dialect is the store's: "sqlite" or "postgres".
func AllowTampering(t testing.TB, db *sql.DB, dialect string) {
	t.Helper()
	drops := []string{
		`DROP TRIGGER IF EXISTS ledger_events_no_update`,
		`DROP TRIGGER IF EXISTS ledger_events_no_delete`,
	}
	if dialect == "postgres" {
		drops = []string{
			`DROP TRIGGER IF EXISTS ledger_events_append_only ON ledger_events`,
			`DROP TRIGGER IF EXISTS ledger_events_no_truncate ON ledger_events`,
		}
	}
	for _, q := range drops {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
