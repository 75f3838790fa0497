package eventstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// An event whose text columns hold a NUL is refused the same way on both databases, before
// the database sees it (PostgreSQL's text cannot hold one; SQLite would store it).
func TestAppendRefusesANulInATextColumn(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			e := newEvent("leadflo", "a", 1)
			e.OccurredAt = "2026-01-01\x00"
			if _, err := s.Append(context.Background(), e); err == nil || !strings.Contains(err.Error(), "occurred_at contains a NUL") {
				t.Fatalf("append = %v, want a refusal naming occurred_at", err)
			}
			e = newEvent("leadflo", "a", 1)
			e.Data.Name = "Nul\x00Name" // the data is stored as escaped JSON
			if _, err := s.Append(context.Background(), e); err != nil {
				t.Fatalf("append with a NUL in the data: %v", err)
			}
		})
	}
}
