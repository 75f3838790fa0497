package eventstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A stalled database (here: another session holding a lock the append needs, as a long
// migration or a stuck transaction would) fails appends with ErrUnavailable within the commit
// deadline; the single writer is never held for ever, recovers when the stall ends, and Close
// returns while the stall lasts.
func TestStalledDatabaseFailsAppendsWithoutHangingTheWriter(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			url := eventstoretest.URL(t, backend)
			ctx := context.Background()
			s := openWorking(t, url)

			release := stall(t, backend, url)
			err := within(t, 30*time.Second, "an append to a stalled database", func() error {
				_, err := s.Append(ctx, newEvent("leadflo", "a", 2))
				return err
			})
			if !errors.Is(err, eventstore.ErrUnavailable) {
				t.Fatalf("append to a stalled database: %v, want ErrUnavailable", err)
			}
			release()
			if err := appendSoon(s, newEvent("leadflo", "a", 3)); err != nil {
				t.Fatalf("append after the stall ended: %v", err)
			}

			stall(t, backend, url)
			appended := make(chan error, 1)
			go func() { _, err := s.Append(ctx, newEvent("leadflo", "b", 1)); appended <- err }()
			_ = within(t, 30*time.Second, "Close during a stall", s.Close)
			if err := <-appended; err == nil {
				t.Error("an append during the stall succeeded")
			}
		})
	}
}

// openWorking opens a store whose commits have 300 ms, and checks that an append works.
func openWorking(t *testing.T, url string) *eventstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := eventstore.Open(ctx, eventstore.Config{URL: url, CommitTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := appendSoon(s, newEvent("leadflo", "a", 1)); err != nil {
		t.Fatalf("append before the database is cut off: %v", err)
	}
	return s
}

// appendSoon appends, trying again for up to 10 s: on a busy machine an append may miss a
// 300 ms deadline for reasons of its own (a new connection, cold caches, the backend the last
// stall left behind still ending).
func appendSoon(s *eventstore.Store, e domain.Event) (err error) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err = s.Append(context.Background(), e); err == nil {
			return nil
		}
	}
	return err
}

// stall makes another session hold the lock every append needs, until release is called.
func stall(t *testing.T, backend, url string) (release func()) {
	t.Helper()
	driver, dsn, lock := "postgres", url, `LOCK TABLE ledger_events IN EXCLUSIVE MODE`
	if backend == "sqlite" {
		// BEGIN IMMEDIATE takes SQLite's write lock: the database's single writer is taken.
		driver, dsn, lock = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite:")+"?_txlock=immediate", `SELECT 1`
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("begin the stalling transaction: %v", err)
	}
	if _, err := tx.Exec(lock); err != nil {
		t.Fatalf("take the lock: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = tx.Rollback(); _ = db.Close() }) }
	t.Cleanup(release) // before the test's database is dropped, which waits for the lock
	return release
}

// within runs fn and fails the test if it has not returned by the deadline.
func within(t *testing.T, deadline time.Duration, what string, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(deadline):
		t.Fatalf("%s has not returned after %s: it hangs", what, deadline)
		return nil
	}
}

// A database that swallows every byte (a network partition, a frozen server) answers neither a
// commit nor the driver's request to cancel it. An append still returns when its caller stops
// waiting (ingest answers 503 then), and Close returns, with an error, after a commit's
// deadline and a grace period instead of hanging a SIGTERM's drain.
func TestBlackholedDatabaseNeverHangsClose(t *testing.T) {
	proxy, url := eventstoretest.PostgresProxy(t, eventstoretest.PostgresURL(t))
	ctx := context.Background()
	s := openWorking(t, url)
	proxy.Freeze()
	defer proxy.Thaw() // lets the stuck commit end before the test's schema is dropped
	appendCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := within(t, 30*time.Second, "an append to a black-holed database", func() error {
		_, err := s.Append(appendCtx, newEvent("leadflo", "a", 2))
		return err
	})
	if err == nil {
		t.Fatal("an append to a black-holed database succeeded")
	}
	err = within(t, 30*time.Second, "Close with a black-holed database", s.Close)
	if err == nil || !strings.Contains(err.Error(), "still waiting on the database") {
		t.Fatalf("Close = %v, want an error saying a commit is still waiting", err)
	}
}
