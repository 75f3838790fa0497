package eventstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/google/uuid"
)

// appendSession is one open append transaction that holds the append lock. It is what
// watermill's publisher writes through.
type appendSession interface {
	wsql.ContextExecutor
	commit() error
	rollback()
}

// appendStart is what an append transaction knows once it holds the append lock.
type appendStart struct {
	session  appendSession
	versions map[uuid.UUID]int64 // the current version of each lead of the batch
	// positions are reserved for the batch's events, in order. Reserving them before the insert
	// (under the append lock) lets the metadata of each message carry its own position.
	positions []int64
	// prevHash is the hash of the newest event: the chain goes on from it.
	prevHash string
	// keys are the stored keys of the batch's leads that have one (see lead_keys.go).
	keys map[uuid.UUID][]byte
}

// lastHashQuery reads the newest event's hash, inside the append lock.
const lastHashQuery = `SELECT hash FROM ` + eventsTable + ` ORDER BY "offset" DESC LIMIT 1`

// beginAppend opens an append transaction for n events, takes the append lock and reads the
// current stream version of each lead. The versions are read after the lock is granted, so
// they cannot change before commit. keyed are the leads whose data will be sealed: on
// PostgreSQL, those without a key get one in the same round trip (SQLite, in process, lets
// batchKeys insert them).
func (s *Store) beginAppend(ctx context.Context, leads, keyed []uuid.UUID, n int) (appendStart, error) {
	if s.dialect.name == "postgres" {
		return s.beginPostgresAppend(ctx, leads, keyed, n)
	}
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: SQLite's write lock is the append lock
	if err != nil {
		return appendStart{}, fmt.Errorf("begin append: %w", err)
	}
	args := make([]any, len(leads))
	for i, id := range leads {
		args[i] = id.String()
	}
	rows, err := tx.QueryContext(ctx, `SELECT stream_id, MAX(stream_version) FROM `+eventsTable+
		` WHERE stream_id IN (`+s.dialect.list(1, len(leads))+`) GROUP BY stream_id`, args...)
	if err != nil {
		_ = tx.Rollback()
		return appendStart{}, fmt.Errorf("read stream versions: %w", err)
	}
	versions, err := scanVersions(rows)
	if err != nil {
		_ = tx.Rollback()
		return appendStart{}, err
	}
	// The writer is alone (it holds the write lock), so the next offsets are simply the ones
	// after the largest ever given out: AUTOINCREMENT never reuses one.
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(n) FROM (
		SELECT seq AS n FROM sqlite_sequence WHERE name = '`+eventsTable+`'
		UNION ALL SELECT MAX("offset") FROM `+eventsTable+` UNION ALL SELECT 0)`).Scan(&last); err != nil {
		_ = tx.Rollback()
		return appendStart{}, fmt.Errorf("reserve positions: %w", err)
	}
	start := appendStart{session: txSession{Tx: tx, ctx: ctx}, versions: versions, prevHash: GenesisHash, keys: map[uuid.UUID][]byte{}}
	if err := tx.QueryRowContext(ctx, lastHashQuery).Scan(&start.prevHash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		_ = tx.Rollback()
		return appendStart{}, fmt.Errorf("read the chain's last hash: %w", err)
	}
	keysQuery, keysArgs := s.leadKeysQuery(leads)
	if err := queryEach(ctx, tx, keysQuery, keysArgs, func(rows *sql.Rows) error { return scanLeadKeys(rows, start.keys) }); err != nil {
		_ = tx.Rollback()
		return appendStart{}, err
	}
	for i := 1; i <= n; i++ {
		start.positions = append(start.positions, last+int64(i))
	}
	return start, nil
}

// beginPostgresAppend does BEGIN, the advisory lock, the version read, the reservation of the
// batch's positions and the creation and read of its leads' keys in one round trip: appends
// are serialised, so every round trip inside the lock is paid by every waiting webhook. A
// multi-statement simple query gives each statement its own snapshot, so the version read sees
// everything committed before the lock was granted. Its only inputs are UUIDs (formatted by
// uuid.UUID.String), keys in hex and a count, so inlining them is safe.
func (s *Store) beginPostgresAppend(ctx context.Context, leads, keyed []uuid.UUID, n int) (appendStart, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return appendStart{}, fmt.Errorf("append connection: %w", err)
	}
	newKeys, err := newKeysInsert(keyed)
	if err != nil {
		discard(conn)
		return appendStart{}, err
	}
	start := appendStart{session: connSession{conn: conn, ctx: ctx}, versions: map[uuid.UUID]int64{}, prevHash: GenesisHash,
		keys: map[uuid.UUID][]byte{}}
	err = queryResultSets(ctx, conn, "BEGIN; "+postgresDialect.lockAppends+"; "+
		appendVersionsQuery(leads)+`; `+
		`SELECT nextval(pg_get_serial_sequence('`+eventsTable+`', 'offset')) FROM generate_series(1, `+strconv.Itoa(n)+`); `+
		lastHashQuery+`; `+newKeys+appendKeysQuery(leads),
		func(*sql.Rows) error { return nil }, // the lock's single empty row
		func(rows *sql.Rows) error {
			var id uuid.UUID
			var version int64
			err := rows.Scan(&id, &version)
			start.versions[id] = version
			return err
		},
		func(rows *sql.Rows) error {
			var pos int64
			err := rows.Scan(&pos)
			start.positions = append(start.positions, pos)
			return err
		},
		func(rows *sql.Rows) error { return rows.Scan(&start.prevHash) },
		func(rows *sql.Rows) error { return scanLeadKeys(rows, start.keys) })
	if err == nil && len(start.positions) != n {
		err = fmt.Errorf("reserved %d positions for %d events", len(start.positions), n)
	}
	if err != nil {
		discard(conn)
		return appendStart{}, fmt.Errorf("begin append: %w", err)
	}
	slices.Sort(start.positions) // nextval grows; sorting just makes the order explicit
	return start, nil
}

// appendVersionsQuery reads the current version of some leads' streams: one backward index
// probe per lead. A single IN (...) GROUP BY let PostgreSQL without table statistics
// (autovacuum off) scan the whole table, inside the append lock, and ingest fell from 6,000/s
// to 400/s past 300k events.
func appendVersionsQuery(leads []uuid.UUID) string {
	return `SELECT s.id::text, v.stream_version FROM (VALUES ` + uuidRows(leads) + `) AS s(id) ` +
		`CROSS JOIN LATERAL (SELECT stream_version FROM ` + eventsTable +
		` WHERE stream_id = s.id ORDER BY stream_version DESC LIMIT 1) v`
}

// appendKeysQuery reads some leads' keys: one primary-key probe per lead (a join let
// PostgreSQL without table statistics scan the whole keys table, inside the append lock).
func appendKeysQuery(leads []uuid.UUID) string {
	return `SELECT s.id::text, k.lead_key FROM (VALUES ` + uuidRows(leads) + `) AS s(id) ` +
		`CROSS JOIN LATERAL (SELECT lead_key FROM ` + leadKeysTable + ` WHERE lead_id = s.id) k`
}

// uuidRows is a VALUES list of UUIDs, one a row.
func uuidRows(ids []uuid.UUID) string {
	rows := make([]string, len(ids))
	for i, id := range ids {
		rows[i] = "('" + id.String() + "'::uuid)"
	}
	return strings.Join(rows, ",")
}

// newKeysInsert is a statement giving each lead that has none a new key ("" for no leads).
// The leads that have one keep it (ON CONFLICT DO NOTHING); the key read after it sees both.
func newKeysInsert(leads []uuid.UUID) (string, error) {
	if len(leads) == 0 {
		return "", nil
	}
	stored := make([]byte, len(leads)*(keyIDSize+keySize)) // each a key id then the key (see lead_keys.go)
	if _, err := rand.Read(stored); err != nil {
		return "", fmt.Errorf("make lead keys: %w", err)
	}
	values := make([]string, len(leads))
	for i, id := range leads {
		key := stored[i*(keyIDSize+keySize) : (i+1)*(keyIDSize+keySize)]
		values[i] = "('" + id.String() + "'::uuid, decode('" + hex.EncodeToString(key) + "', 'hex'))"
	}
	return `INSERT INTO ` + leadKeysTable + ` (lead_id, lead_key) VALUES ` + strings.Join(values, ",") +
		` ON CONFLICT (lead_id) DO NOTHING; `, nil
}

// queryResultSets runs a multi-statement query and reads its result sets, one row function
// each. The rows are closed before it returns, whatever happened: sql.Conn.Close waits for open
// rows, so a caller that discards the connection after a failure would otherwise wait for ever.
func queryResultSets(ctx context.Context, conn *sql.Conn, query string, readRow ...func(*sql.Rows) error) error {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	err = readResultSets(rows, readRow...)
	return errors.Join(err, rows.Close())
}

// queryEach runs a query and reads each of its rows with readRow.
func queryEach(ctx context.Context, tx *sql.Tx, query string, args []any, readRow func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	err = readResultSets(rows, readRow)
	return errors.Join(err, rows.Close())
}

// readResultSets reads the result sets of a multi-statement query, one row function each.
func readResultSets(rows *sql.Rows, readRow ...func(*sql.Rows) error) error {
	for i, read := range readRow {
		if i > 0 && !rows.NextResultSet() {
			return fmt.Errorf("result set %d missing: %v", i+1, rows.Err())
		}
		for rows.Next() {
			if err := read(rows); err != nil {
				return fmt.Errorf("result set %d: %w", i+1, err)
			}
		}
	}
	return rows.Err()
}

func scanVersions(rows *sql.Rows) (map[uuid.UUID]int64, error) {
	defer rows.Close()
	versions := map[uuid.UUID]int64{}
	for rows.Next() {
		var id string
		var version int64
		if err := rows.Scan(&id, &version); err != nil {
			return nil, fmt.Errorf("scan stream version: %w", err)
		}
		leadID, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("stream id %q: %w", id, err)
		}
		versions[leadID] = version
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stream versions: %w", err)
	}
	return versions, nil
}

// txSession is SQLite's append transaction. watermill's publisher runs its insert without a
// context, so the session puts the append's deadline on every statement.
type txSession struct {
	*sql.Tx
	ctx context.Context
}

func (t txSession) Exec(query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(t.ctx, query, args...)
}

func (t txSession) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(t.ctx, query, args...)
}

func (t txSession) commit() error { return t.Commit() }
func (t txSession) rollback()     { _ = t.Rollback() }

// connSession is PostgreSQL's append transaction, opened by hand on one connection
// (database/sql's Tx cannot share BEGIN's round trip). Every statement runs under the append's
// deadline. Any failure discards the connection rather than return it to the pool in an
// unknown transaction state.
type connSession struct {
	conn *sql.Conn
	ctx  context.Context
}

func (c connSession) Exec(query string, args ...any) (sql.Result, error) {
	return c.conn.ExecContext(c.ctx, query, args...)
}

func (c connSession) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	return c.conn.ExecContext(c.ctx, query, args...)
}

func (c connSession) Query(query string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(c.ctx, query, args...)
}

func (c connSession) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(c.ctx, query, args...)
}

func (c connSession) QueryRow(query string, args ...any) *sql.Row {
	return c.conn.QueryRowContext(c.ctx, query, args...)
}

func (c connSession) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return c.conn.QueryRowContext(c.ctx, query, args...)
}

func (c connSession) commit() error {
	if _, err := c.conn.ExecContext(c.ctx, "COMMIT"); err != nil {
		discard(c.conn)
		return err
	}
	return c.conn.Close()
}

func (c connSession) rollback() { discard(c.conn) }

// discard closes the connection for good: the server rolls back whatever it had open.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
