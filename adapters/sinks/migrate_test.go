package sinks_test

import (
	"context"
	"sync"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore"
)

// Processes starting together on a new database each create the sinks' tables: every one of
// them succeeds.
func TestRegistriesMigrateConcurrently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		store, err := eventstore.Open(ctx, eventstore.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if err := store.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				_, err := sinks.NewRegistry(ctx, store)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}
