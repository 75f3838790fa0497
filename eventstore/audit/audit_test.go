package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

func openStore(t *testing.T, backend string) *eventstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := eventstore.Open(ctx, eventstore.Config{URL: eventstoretest.URL(t, backend)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// appendEvents appends n events and returns every event's hash so far, as 32-byte leaves.
func appendEvents(t *testing.T, s *eventstore.Store, n int) [][]byte {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		raw := []byte(fmt.Sprintf(`{"visitorId":"v%d","n":%d}`, i%5, i))
		e := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: fmt.Sprint(i % 5)}, raw, time.Now())
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	events, err := s.ReadAll(ctx, 0, 10000, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([][]byte, len(events))
	for i, e := range events {
		leaves[i], _ = hex.DecodeString(e.Hash)
	}
	return leaves
}

func newCheckpointer(t *testing.T, s *eventstore.Store) (*audit.Checkpointer, note.Verifier) {
	t.Helper()
	skey, err := audit.GenerateSigningKey("leadledger-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(signer.VerifierKey())
	if err != nil {
		t.Fatalf("the verifier key %q does not parse: %v", signer.VerifierKey(), err)
	}
	tree, err := audit.NewTree(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return &audit.Checkpointer{Tree: tree, Signer: signer, Every: time.Nanosecond}, verifier
}

// A checkpoint is a signed note of the tree head over the events' hashes; every inclusion
// and consistency proof the tree gives checks with RFC 9162's algorithms, written apart from
// the ledger's tree code, against the heads of an independent RFC 6962 tree.
func TestCheckpointsAndProofs(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, backend)
			cp, verifier := newCheckpointer(t, s)
			var sizes []uint64
			var leaves [][]byte
			for _, n := range []int{1, 6, 30, 27} { // checkpoints at 1, 7, 37 and 64 events
				leaves = appendEvents(t, s, n)
				c, err := cp.Step(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if c.TreeSize != uint64(len(leaves)) || string(c.Root) != string(eventstoretest.MerkleRoot(leaves)) {
					t.Fatalf("checkpoint of %d events: size %d, root %x; want root %x", len(leaves), c.TreeSize, c.Root, eventstoretest.MerkleRoot(leaves))
				}
				opened, err := note.Open([]byte(c.Note), note.VerifierList(verifier))
				if err != nil {
					t.Fatalf("the checkpoint's note does not verify: %v\n%s", err, c.Note)
				}
				want := fmt.Sprintf("leadledger-test\n%d\n%s\n", c.TreeSize, base64.StdEncoding.EncodeToString(c.Root))
				if opened.Text != want {
					t.Fatalf("note body %q, want %q", opened.Text, want)
				}
				sizes = append(sizes, c.TreeSize)
			}
			for _, size := range sizes {
				root := eventstoretest.MerkleRoot(leaves[:size])
				for leaf := range size {
					path, err := cp.Tree.Inclusion(ctx, leaf, size)
					if err != nil {
						t.Fatal(err)
					}
					if !eventstoretest.VerifyInclusion(leaf, size, eventstoretest.LeafHash(leaves[leaf]), path, root) {
						t.Fatalf("inclusion proof of leaf %d in the tree of %d does not verify", leaf, size)
					}
				}
				for _, second := range sizes {
					if second < size {
						continue
					}
					path, err := cp.Tree.Consistency(ctx, size, second)
					if err != nil {
						t.Fatal(err)
					}
					if !eventstoretest.VerifyConsistency(size, second, path, root, eventstoretest.MerkleRoot(leaves[:second])) {
						t.Fatalf("consistency proof %d -> %d does not verify", size, second)
					}
				}
			}
			// A forged path fails: the independent verifier is not a yes-machine.
			path, _ := cp.Tree.Inclusion(ctx, 5, 64)
			path[0] = eventstoretest.LeafHash([]byte("forged"))
			if eventstoretest.VerifyInclusion(5, 64, eventstoretest.LeafHash(leaves[5]), path, eventstoretest.MerkleRoot(leaves)) {
				t.Fatal("a forged audit path verified")
			}
			list, err := cp.Tree.Checkpoints(ctx, 10)
			if err != nil || len(list) != 4 || list[0].TreeSize != 64 || !strings.HasPrefix(list[0].KeyID, "leadledger-test+") {
				t.Fatalf("checkpoints %+v, %v; want 4, newest first, with the key id", list, err)
			}
		})
	}
}

// Every generated key works, whatever characters its base64 holds: the verifier key derived
// from the signer key checks what it signs.
func TestSignerKeys(t *testing.T) {
	for i := range 200 {
		skey, err := audit.GenerateSigningKey(fmt.Sprintf("log-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		signer, err := audit.NewSigner(skey)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		verifier, err := note.NewVerifier(signer.VerifierKey())
		if err != nil {
			t.Fatalf("key %d: verifier key %q: %v", i, signer.VerifierKey(), err)
		}
		c, err := signer.Sign(3, make([]byte, 32), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open([]byte(c.Note), note.VerifierList(verifier)); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if _, err := audit.NewSigner("PRIVATE+KEY+x"); err == nil {
		t.Error("a truncated key was accepted")
	}
}

// The signing key kept in the database is made once and read back, sealed: two servers on one
// database sign with the same key; the wrong master key cannot open it.
func TestStoredSigningKey(t *testing.T) {
	s := openStore(t, "sqlite")
	tree, err := audit.NewTree(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(k string) (string, error) { return "sealed:" + k, nil }
	open := func(k string) (string, error) {
		plain, ok := strings.CutPrefix(k, "sealed:")
		if !ok {
			return "", fmt.Errorf("not sealed by this key")
		}
		return plain, nil
	}
	first, created, err := audit.StoredSigningKey(context.Background(), tree, seal, open)
	if err != nil || !created || !strings.HasPrefix(first, "PRIVATE+KEY+leadledger-") {
		t.Fatalf("first start: %.20q, created %v, %v", first, created, err)
	}
	var stored string
	if err := s.DB().QueryRow(`SELECT sealed FROM ledger_signing_key`).Scan(&stored); err != nil || stored != "sealed:"+first {
		t.Fatalf("the key is not stored sealed: %.30q, %v", stored, err)
	}
	again, created, err := audit.StoredSigningKey(context.Background(), tree, seal, open)
	if err != nil || created || again != first {
		t.Fatalf("second start: same key %v, created %v, %v", again == first, created, err)
	}
	wrong := func(string) (string, error) { return "", fmt.Errorf("authentication failed") }
	if _, _, err := audit.StoredSigningKey(context.Background(), tree, seal, wrong); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("a wrong master key: %v", err)
	}
}

// Verify reads the log in ranges of positions, two at a time: every event is checked once, in
// order, across ranges that a rolled-back append left short, and the root is the whole log's.
func TestVerifyReadsEveryRangeInOrder(t *testing.T) {
	defer audit.SetVerifyPage(7)()
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, backend)
			appendEvents(t, s, 20)
			// A version conflict: on PostgreSQL its reserved position stays unused, a gap.
			conflict := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: "0"}, []byte(`{}`), time.Now())
			conflict.Version = 1
			if _, err := s.Append(ctx, conflict); err == nil {
				t.Fatal("a taken version was appended")
			}
			leaves := appendEvents(t, s, 25)
			tree, err := audit.NewTree(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			pages := 0
			v, err := audit.Verify(ctx, tree, 0, func(audit.Verified) { pages++ })
			if err != nil {
				t.Fatal(err)
			}
			if v.Events != 45 || hex.EncodeToString(v.Root) != hex.EncodeToString(eventstoretest.MerkleRoot(leaves)) || pages < 45/7 {
				t.Errorf("verified %d events in %d pages, root %x; want 45 and the root of their hashes", v.Events, pages, v.Root)
			}
		})
	}
}
