package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// verify prints the tree head of a clean log; once a raw byte or a covered field is changed
// behind the database's back, it exits 1 naming the position and what broke there.
func TestVerify(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			database := eventstoretest.URL(t, backend)
			store, err := eventstore.Open(ctx, eventstore.Config{URL: database})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 30 {
				raw := []byte(fmt.Sprintf(`{"visitorId":"v%d","email":"p%d@example.com"}`, i%9, i))
				e := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: fmt.Sprint(i % 9)}, raw, time.Now())
				if _, err := store.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			events, err := store.ReadAll(ctx, 0, 100, eventstore.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			var leaves [][]byte
			for _, e := range events {
				leaf, _ := hex.DecodeString(e.Hash)
				leaves = append(leaves, leaf)
			}
			cfg := writeConfig(t, t.TempDir(), freeAddr(t), database)
			env := func(k string) string {
				return map[string]string{"TEST_OPERATOR_TOKEN": testOperator, "TEST_LEADFLO_SECRET": testSecret}[k]
			}
			verify := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append([]string{"verify", "--config", cfg}, args...), env, &out)
				return out.String(), err
			}

			want := fmt.Sprintf("ok: 30 events, root %x\n", eventstoretest.MerkleRoot(leaves))
			if out, err := verify(); err != nil || out != want {
				t.Fatalf("clean log: %q, %v; want %q", out, err, want)
			}

			eventstoretest.AllowTampering(t, store.DB(), backend)
			tamper := func(set string, arg any, position int64) {
				t.Helper()
				q := `UPDATE ledger_events SET ` + set + ` = ? WHERE "offset" = ?`
				if backend == "postgres" {
					q = `UPDATE ledger_events SET ` + set + ` = $1 WHERE "offset" = $2`
				}
				if _, err := store.DB().ExecContext(ctx, q, arg, position); err != nil {
					t.Fatal(err)
				}
			}
			flipped := bytes.Replace(events[11].Raw, []byte("example"), []byte("exbmple"), 1)
			tamper("payload", flipped, events[11].Position)
			out, err := verify()
			if err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: raw_sha256:", events[11].Position)) {
				t.Fatalf("one raw byte changed: %q, %v; want exit 1 naming position %d and raw_sha256", out, err, events[11].Position)
			}
			if out, err := verify("--from", fmt.Sprint(events[12].Position)); err != nil || out != want {
				t.Errorf("verify --from past the change: %q, %v; want the clean line", out, err)
			}
			tamper("payload", events[11].Raw, events[11].Position)
			tamper("source", "forged", events[20].Position)
			if out, err := verify(); err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: hash:", events[20].Position)) {
				t.Fatalf("a covered field changed: %q, %v; want exit 1 naming position %d and hash", out, err, events[20].Position)
			}
		})
	}
}
