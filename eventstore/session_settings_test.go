package eventstore_test

import (
	"context"
	"testing"

	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Every PostgreSQL session of the store runs without JIT compilation: without statistics
// PostgreSQL compiled a lead's history query, 20 ms at 1M events instead of 0.16 ms. A URL that
// sets jit itself keeps its own.
func TestPostgresSessionsRunWithoutJIT(t *testing.T) {
	ctx := context.Background()
	url := eventstoretest.URL(t, "postgres")
	for _, c := range []struct{ url, want string }{{url, "off"}, {url + "&jit=on", "on"}} {
		s, err := eventstore.Open(ctx, eventstore.Config{URL: c.url})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := s.ReadDB().QueryRowContext(ctx, `SHOW jit`).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: jit = %q, %v; want %q", c.url, got, err, c.want)
		}
		if err := s.DB().QueryRowContext(ctx, `SHOW jit`).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s, writer: jit = %q, %v; want %q", c.url, got, err, c.want)
		}
		_ = s.Close()
	}
}
