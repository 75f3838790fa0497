package eventstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Processes starting together on a new database create the same tables at once: every one of
// them succeeds (PostgreSQL's CREATE TABLE IF NOT EXISTS alone raced on its catalogue).
func TestMigrateTablesConcurrently(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			for round := range 3 {
				stmts := []string{
					fmt.Sprintf(`CREATE TABLE IF NOT EXISTS probe_%d (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`, round),
					fmt.Sprintf(`CREATE INDEX IF NOT EXISTS probe_%d_name ON probe_%d (name)`, round, round),
				}
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for range 8 {
					wg.Go(func() { errs <- s.MigrateTables(ctx, "probe", stmts) })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Errorf("round %d: %v", round, err)
					}
				}
			}
		})
	}
}
