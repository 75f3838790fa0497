package eventstore

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A row function that fails in the middle of a result set must leave the connection closable:
// the append path discards the connection after any failure, and sql.Conn.Close waits for rows
// still open, which once blocked the single writer, and with it every append, for ever.
func TestFailedResultSetLeavesTheConnectionClosable(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{URL: eventstoretest.PostgresURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("row 3 does not scan")
	n := 0
	err = queryResultSets(ctx, conn, `SELECT generate_series(1, 1000); SELECT 1`,
		func(*sql.Rows) error {
			if n++; n == 3 {
				return broken
			}
			return nil
		},
		func(*sql.Rows) error { return nil })
	if !errors.Is(err, broken) {
		t.Fatalf("queryResultSets = %v, want the row function's error", err)
	}
	discarded := make(chan struct{})
	go func() { discard(conn); close(discarded) }()
	select {
	case <-discarded:
	case <-time.After(10 * time.Second):
		t.Fatal("discarding the connection after a failed result set hangs")
	}
}
