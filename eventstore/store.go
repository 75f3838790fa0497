// Package eventstore is the ledger's log: every accepted webhook as an immutable event, in a SQL
// table written and read through watermill-sql, on PostgreSQL or on embedded SQLite.
//
// One invariant carries the design: appends are serialised by one lock (PostgreSQL: an advisory
// transaction lock; SQLite: its single writer), and each append transaction carries a whole batch
// of waiting requests (group commit). Positions are therefore assigned in commit order, so a
// reader paging by position never skips a row that commits later, and per-lead order holds for
// watermill's subscriber too, which orders by (transaction id, offset).
package eventstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	_ "github.com/lib/pq"  // PostgreSQL driver; watermill-sql's exactly-once tests pass with it
	_ "modernc.org/sqlite" // pure-Go SQLite driver, no cgo
)

// Topic is the watermill topic of the log. Stored: never rename.
const Topic = "events"

// Config configures a Store.
type Config struct {
	// URL is "sqlite:PATH" or "postgres://...". Required.
	URL string
	// MaxBatch is the most events one append transaction carries. Defaults to 256.
	MaxBatch int
	// CommitTimeout bounds one append transaction, from BEGIN to COMMIT: a stalled database
	// fails the batch with ErrUnavailable rather than hold the single writer. Defaults to 5s.
	CommitTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxBatch == 0 {
		c.MaxBatch = 256
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := splitURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBatch < 1 || c.MaxBatch > 2000 {
		errs = append(errs, fmt.Errorf("max batch must be between 1 and 2000, got %d", c.MaxBatch))
	}
	if c.CommitTimeout < 0 {
		errs = append(errs, fmt.Errorf("commit timeout must not be negative, got %s", c.CommitTimeout))
	}
	return errors.Join(errs...)
}

// Store is the event log.
type Store struct {
	db      *sql.DB // appends, subscriptions, migrations
	reads   *sql.DB // plain reads; the same pool as db on PostgreSQL
	dialect dialect
	schema  wsql.SchemaAdapter
	offsets wsql.OffsetsAdapter
	log     *slog.Logger
	writer  *batchWriter
	metrics *appendMetrics
	// lastAppend is when this process last wrote to the log (Unix nanoseconds).
	lastAppend atomic.Int64
	instance   string // see Instance
}

// Open connects to the database named by cfg.URL. It does not create the schema: call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("event store config: %w", err)
	}
	driver, dsn, _ := splitURL(cfg.URL)
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	s := &Store{db: db, reads: db, log: cfg.Logger, metrics: newAppendMetrics(), instance: newInstance()}
	switch driver {
	case "postgres":
		s.dialect, s.schema, s.offsets = postgresDialect, newPostgresSchema(), postgresOffsets()
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	default:
		s.dialect, s.schema, s.offsets = sqliteDialect, sqliteSchema{}, sqliteOffsets{}
		// SQLite has one writer. Writers queue for one connection in Go rather than in
		// SQLite's busy handler, whose sleeps gave appends a 300 ms p99 behind a subscriber;
		// WAL lets a separate pool of readers run beside it.
		db.SetMaxOpenConns(1)
		if s.reads, err = sql.Open(driver, dsn); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open sqlite readers: %w", err)
		}
		s.reads.SetMaxOpenConns(8)
	}
	if err := s.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.writer = newBatchWriter(s, cfg.MaxBatch, cfg.CommitTimeout)
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.reads.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect.name, err)
	}
	return nil
}

// LastAppend is when this process last appended to the log (zero if never): background readers
// use it to give way to ingest.
func (s *Store) LastAppend() time.Time {
	if n := s.lastAppend.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect.name }

// DB is the underlying database, for read models that keep their tables beside the log.
// On SQLite it is the single writer connection: read with ReadDB.
func (s *Store) DB() *sql.DB { return s.db }

// ReadDB is the pool for plain reads, which on SQLite run beside the writer.
func (s *Store) ReadDB() *sql.DB { return s.reads }

// Close finishes the appends under way, then closes the database. If the database has stopped
// answering altogether, it returns after a commit's deadline and a grace period, with an error,
// leaving the connections to the process's end.
func (s *Store) Close() error {
	if err := s.writer.close(); err != nil {
		return fmt.Errorf("close event store: %w", err)
	}
	err := s.db.Close()
	if s.reads != s.db {
		err = errors.Join(err, s.reads.Close())
	}
	if err != nil {
		return fmt.Errorf("close event store: %w", err)
	}
	return nil
}

// splitURL maps the ledger's database URL to a driver name and its DSN.
func splitURL(url string) (driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return "postgres", postgresDSN(url), nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" || strings.Contains(path, ":memory:") {
			return "", "", errors.New("sqlite database needs a file path (an in-memory database is per connection)")
		}
		return "sqlite", sqliteDSN(path), nil
	}
	return "", "", fmt.Errorf("database URL must start with sqlite: or postgres://")
}

// postgresDSN adds what every connection of the ledger wants, unless the URL says otherwise:
//   - binary_parameters=yes: lib/pq then sends a statement with arguments in one round trip
//     (parse, bind and execute together) instead of two, and a []byte argument (an event's
//     sealed body) as its bytes rather than in hex;
//   - jit=off, a run-time parameter of the session: without statistics (a log just filled, or
//     not yet analysed) PostgreSQL guesses thousands of rows for a lead's events and compiles
//     the query, which cost a lead's history 20 ms at 1M events and about 270 ms at 10M
//     (0.16 ms without); the ledger's queries touch few rows and never gain from it.
func postgresDSN(url string) string {
	for _, param := range []string{"binary_parameters=yes", "jit=off"} {
		name, _, _ := strings.Cut(param, "=")
		if strings.Contains(url, "?"+name+"=") || strings.Contains(url, "&"+name+"=") {
			continue
		}
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += sep + param
	}
	return url
}

// sqliteDSN adds the pragmas the log relies on. _txlock=immediate takes the write lock at BEGIN,
// which is what stops two watermill subscribers of one group reading the same rows.
func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "file:" + path + sep + "_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=busy_timeout(60000)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)" +
		// Deleted rows are overwritten, not left in free space: an erased lead's key and its
		// lead view row must not stay readable in the file (see lead_keys.go).
		"&_pragma=secure_delete(ON)"
}
