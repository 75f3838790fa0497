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
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// verify prints the tree head of a clean log; once a raw byte, a covered field, a checkpoint or
// the log's length is changed behind the database's back, it exits 1 naming the position and
// what broke there.
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
			checkpoints := newCheckpointer(t, store)
			for i := range 30 {
				raw := []byte(fmt.Sprintf(`{"visitorId":"v%d","email":"p%d@example.com"}`, i%9, i))
				e := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: fmt.Sprint(i % 9)}, raw, time.Now())
				if _, err := store.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
				if i == 19 || i == 29 { // checkpoints of 20 and 30 events
					if _, err := checkpoints.Step(ctx); err != nil {
						t.Fatal(err)
					}
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
			// One byte of a stored raw body changed: it is stored sealed, so the byte is one of
			// its ciphertext, and the body no longer opens.
			var stored []byte
			if err := store.DB().QueryRowContext(ctx, store.Rebind(`SELECT payload FROM ledger_events WHERE "offset" = ?`), events[11].Position).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			flipped := bytes.Clone(stored)
			flipped[len(flipped)/2] ^= 1
			tamper("payload", flipped, events[11].Position)
			out, err := verify()
			if err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: raw_sha256:", events[11].Position)) {
				t.Fatalf("one raw byte changed: %q, %v; want exit 1 naming position %d and raw_sha256", out, err, events[11].Position)
			}
			if out, err := verify("--from", fmt.Sprint(events[12].Position)); err != nil || out != want {
				t.Errorf("verify --from past the change: %q, %v; want the clean line", out, err)
			}
			// The sealed body replaced whole (it no longer names its key): it reads as erased,
			// but no erasure of its lead follows it.
			tamper("payload", []byte("not what was sealed"), events[11].Position)
			if out, err := verify(); err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: raw_sha256: its raw body does not open and no LeadErased", events[11].Position)) {
				t.Fatalf("a sealed body replaced: %q, %v; want exit 1 naming position %d and raw_sha256", out, err, events[11].Position)
			}
			tamper("payload", stored, events[11].Position)
			// A lead's key deleted behind the ledger's back: the same.
			var key []byte
			lead := events[4].LeadID.String()
			if err := store.DB().QueryRowContext(ctx, store.Rebind(`SELECT lead_key FROM ledger_lead_keys WHERE lead_id = ?`), lead).Scan(&key); err != nil {
				t.Fatal(err)
			}
			if _, err := store.DB().ExecContext(ctx, store.Rebind(`DELETE FROM ledger_lead_keys WHERE lead_id = ?`), lead); err != nil {
				t.Fatal(err)
			}
			if out, err := verify(); err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: raw_sha256: its raw body does not open and no LeadErased", events[4].Position)) {
				t.Fatalf("a lead key deleted: %q, %v; want exit 1 naming position %d and raw_sha256", out, err, events[4].Position)
			}
			if _, err := store.DB().ExecContext(ctx, store.Rebind(`INSERT INTO ledger_lead_keys (lead_id, lead_key) VALUES (?, ?)`), lead, key); err != nil {
				t.Fatal(err)
			}
			if out, err := verify(); err != nil || out != want {
				t.Fatalf("the body and the key restored: %q, %v", out, err)
			}
			tamper("source", "forged", events[20].Position)
			if out, err := verify(); err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: hash:", events[20].Position)) {
				t.Fatalf("a covered field changed: %q, %v; want exit 1 naming position %d and hash", out, err, events[20].Position)
			}
			tamper("source", events[20].Source, events[20].Position)

			// A checkpoint whose root was changed no longer verifies (its note signs the old one).
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := store.DB().ExecContext(ctx, store.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`UPDATE ledger_checkpoints SET root = ? WHERE tree_size = 20`, strings.Repeat("ab", 32))
			if out, err := verify(); err == nil || !strings.HasPrefix(out, fmt.Sprintf("broken at position %d: checkpoint:", events[19].Position)) {
				t.Fatalf("a checkpoint's root changed: %q, %v; want exit 1 naming position %d and checkpoint", out, err, events[19].Position)
			}
			exec(`UPDATE ledger_checkpoints SET root = ? WHERE tree_size = 20`, hex.EncodeToString(eventstoretest.MerkleRoot(leaves[:20])))
			if out, err := verify(); err != nil || out != want {
				t.Fatalf("the checkpoint restored: %q, %v", out, err)
			}
			// A checkpoint re-signed by a key the ledger never published does not verify.
			forger := newCheckpointer(t, store).Signer
			forged, err := forger.Sign(20, eventstoretest.MerkleRoot(leaves[:20]), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var note string
			if err := store.DB().QueryRowContext(ctx, `SELECT note FROM ledger_checkpoints WHERE tree_size = 20`).Scan(&note); err != nil {
				t.Fatal(err)
			}
			exec(`UPDATE ledger_checkpoints SET note = ? WHERE tree_size = 20`, forged.Note)
			if out, err := verify(); err == nil || !strings.Contains(out, "checkpoint: the checkpoint of 20 events does not verify") {
				t.Fatalf("a forged signature: %q, %v", out, err)
			}
			exec(`UPDATE ledger_checkpoints SET note = ? WHERE tree_size = 20`, note)
			// Events a checkpoint covered, removed: the log is shorter than what was signed.
			exec(`DELETE FROM ledger_events WHERE "offset" > ?`, events[27].Position)
			if out, err := verify(); err == nil || !strings.Contains(out, "checkpoint: a checkpoint of 30 events was signed, and the log holds 28") {
				t.Fatalf("events removed: %q, %v; want the checkpoint of 30 named", out, err)
			}
		})
	}
}

func newCheckpointer(t *testing.T, store *eventstore.Store) *audit.Checkpointer {
	t.Helper()
	tree, err := audit.NewTree(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	skey, err := audit.GenerateSigningKey("leadledger-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &audit.Checkpointer{Tree: tree, Signer: signer, Every: time.Nanosecond}
}
