package eventstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// expectedHash is the chain's rule as docs/audit.md states it, written here apart from the
// store's code: SHA-256 of the previous hash's bytes, then each covered field as a 4-byte
// big-endian length and its text.
func expectedHash(t *testing.T, prev string, e domain.Event) string {
	t.Helper()
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != 32 {
		t.Fatalf("previous hash %q is not 32 bytes of hex", prev)
	}
	buf := append([]byte(nil), p...)
	for _, f := range []string{strconv.FormatInt(e.Position, 10), e.ID.String(), string(e.Type), e.LeadID.String(),
		e.Source, e.ReceivedAt.UTC().Format(time.RFC3339Nano), e.RawSHA256} {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(f)))
		buf = append(buf, f...)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// checkChain reads the whole log and checks every event's hash against its predecessor's.
func checkChain(t *testing.T, s *eventstore.Store, want int) []domain.Event {
	t.Helper()
	events, err := s.ReadAll(context.Background(), 0, 10000, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != want {
		t.Fatalf("%d events in the log, want %d", len(events), want)
	}
	prev := strings.Repeat("0", 64)
	for _, e := range events {
		if got := expectedHash(t, prev, e); e.Hash != got {
			t.Fatalf("event %d: hash %q, want %q", e.Position, e.Hash, got)
		}
		prev = e.Hash
	}
	return events
}

// Every appended event is a link of the chain, whether it came alone, in a batch, or in a
// group commit shared with concurrent appends.
func TestHashChain(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			if _, err := s.Append(ctx, newEvent("wc", "a", 1)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, newEvent("wc", "b", 1), newEvent("wc", "b", 2), newEvent("wc", "c", 1)); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					if _, err := s.Append(ctx, newEvent("conversica", fmt.Sprintf("lead-%d", i%7), i)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			checkChain(t, s, 44)
		})
	}
}

// The database itself refuses to change or remove a stored event.
func TestLogRefusesChange(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			if _, err := s.Append(ctx, newEvent("wc", "a", 1)); err != nil {
				t.Fatal(err)
			}
			attempts := []string{
				`UPDATE ledger_events SET source = 'forged'`,
				`UPDATE ledger_events SET payload = payload`,
				`DELETE FROM ledger_events`,
			}
			if backend == "postgres" {
				attempts = append(attempts, `TRUNCATE ledger_events`)
			}
			for _, q := range attempts {
				_, err := s.DB().ExecContext(ctx, q)
				if err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: err = %v, want a refusal naming the log append-only", q, err)
				}
			}
			checkChain(t, s, 1)
		})
	}
}

// A store written before the chain existed gets it on migrate, once, in position order: the
// same hashes appends would have given, and the log append-only from then on.
func TestMigrationChainsStoredEvents(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			url := eventstoretest.URL(t, backend)
			s := openStore(t, url)
			ctx := context.Background()
			for i := range 12 {
				if _, err := s.Append(ctx, newEvent("wc", fmt.Sprintf("lead-%d", i%3), i)); err != nil {
					t.Fatal(err)
				}
			}
			chained := checkChain(t, s, 12)
			// Back to the schema before the chain: plain text, no hash column, no triggers, version 1.
			eventstoretest.AllowTampering(t, s.DB(), backend)
			if err := eventstore.Unseal(ctx, s); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{`ALTER TABLE ledger_events DROP COLUMN hash`, `DELETE FROM ledger_migrations WHERE version >= 2`} {
				if _, err := s.DB().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			migrated := checkChain(t, openStore(t, url), 12)
			for i := range chained {
				if migrated[i].Hash != chained[i].Hash {
					t.Fatalf("event %d: migrated hash %s, appended %s", chained[i].Position, migrated[i].Hash, chained[i].Hash)
				}
			}
			reopened := openStore(t, url)
			if _, err := reopened.DB().ExecContext(ctx, `DELETE FROM ledger_events`); err == nil {
				t.Error("after the migration the log accepts a DELETE")
			}
		})
	}
}
