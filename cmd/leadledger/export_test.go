package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// export -> verify --file -> import into an empty store of the other kind: the same ids,
// positions (gaps included), versions, raw bytes and hashes, and the same tree head; an erased
// lead's events stay erased and still verify; a changed byte in the file fails verify; an import
// never lands in a store that has events.
func TestExportImport(t *testing.T) {
	for _, backends := range [][2]string{{"sqlite", "postgres"}, {"postgres", "sqlite"}} {
		t.Run(backends[0]+" to "+backends[1], func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			source, sourceCfg := storeWithConfig(t, dir, "source", backends[0])
			checkpoints := newCheckpointer(t, source)
			for i := range 30 {
				raw := []byte(fmt.Sprintf(`{"visitorId":"v%d","n":%d}`, i%7, i))
				if i == 3 {
					raw = []byte{'{', 0xff, 0xfe, '}'} // not UTF-8: exported in base64, byte for byte
				}
				e := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: fmt.Sprint(i % 7)}, raw, time.Now())
				if _, err := source.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
				if i == 12 { // a version conflict: on PostgreSQL its reserved position stays unused
					conflict := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: "0"}, raw, time.Now())
					conflict.Version = 1
					if _, err := source.Append(ctx, conflict); !errors.Is(err, domain.ErrVersionConflict) {
						t.Fatalf("conflicting append: %v", err)
					}
				}
				if i == 15 { // lead 2 erased between two checkpoints: its events 2 and 9 lose their bodies
					if _, _, err := source.Erase(ctx, domain.LeadID("leadflo", "2"), "ops"); err != nil {
						t.Fatal(err)
					}
				}
				if i == 9 || i == 24 {
					if _, err := checkpoints.Step(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			cmd := func(cfg string, args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(args[:1:1], append([]string{"--config", cfg}, args[1:]...)...), testEnv, &out)
				return out.String(), err
			}
			verified, err := cmd(sourceCfg, "verify")
			if err != nil || !strings.HasPrefix(verified, "ok: 31 events, root ") || !strings.Contains(verified, "\n2 of them erased") {
				t.Fatalf("verify the source: %q, %v", verified, err)
			}
			file := filepath.Join(dir, "log.ndjson.gz")
			if out, err := cmd(sourceCfg, "export", "--out", file); err != nil || !strings.HasPrefix(out, "exported 31 events") {
				t.Fatalf("export: %q, %v", out, err)
			}
			out, err := cmd(sourceCfg, "verify", "--file", file)
			if err != nil || !strings.HasPrefix(out, verified) || !strings.Contains(out, "checkpoints signed by: leadledger-test+") {
				t.Fatalf("verify --file: %q, %v; want %q and the key", out, err, verified)
			}

			target, targetCfg := storeWithConfig(t, dir, "target", backends[1])
			if out, err := cmd(targetCfg, "import", file); err != nil || !strings.HasPrefix(out, "imported 31 events") {
				t.Fatalf("import: %q, %v", out, err)
			}
			want, _ := source.ReadAll(ctx, 0, 100, eventstore.Filter{})
			got, _ := target.ReadAll(ctx, 0, 100, eventstore.Filter{})
			if len(got) != len(want) {
				t.Fatalf("imported %d events, exported %d", len(got), len(want))
			}
			erased := 0
			for i := range want {
				w, g := want[i], got[i]
				if w.Erased {
					erased++
				}
				if g.Erased != w.Erased || g.Data.Name != w.Data.Name || g.ID != w.ID || g.Position != w.Position || g.Version != w.Version || g.Hash != w.Hash ||
					!bytes.Equal(g.Raw, w.Raw) || g.RawSHA256 != w.RawSHA256 || !g.ReceivedAt.Equal(w.ReceivedAt) || g.OccurredAt != w.OccurredAt {
					t.Fatalf("event %d differs after the round trip:\n got %+v\nwant %+v", i, g, w)
				}
			}
			if erased != 2 {
				t.Fatalf("%d erased events after the round trip, want 2", erased)
			}
			if out, err := cmd(targetCfg, "verify"); err != nil || out != verified {
				t.Fatalf("verify the imported store: %q, %v; want %q", out, err, verified)
			}
			if _, err := cmd(targetCfg, "import", file); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("a second import: %v, want a refusal of a store that has events", err)
			}
			// After the import, appends go on from the imported head.
			next, err := target.Append(ctx, domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: "new"}, []byte(`{}`), time.Now()))
			if err != nil || next[0].Position <= want[len(want)-1].Position {
				t.Fatalf("append after the import: %+v, %v", next, err)
			}

			// One byte of one raw body changed in the file.
			plain := readGzip(t, file)
			tampered := filepath.Join(dir, "tampered.ndjson")
			if err := os.WriteFile(tampered, bytes.Replace(plain, []byte(`"visitorId\":\"v5\"`), []byte(`"visitorId\":\"v6\"`), 1), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := cmd(sourceCfg, "verify", "--file", tampered); err == nil || !strings.Contains(out, ": raw_sha256:") {
				t.Fatalf("verify a tampered file: %q, %v; want raw_sha256 named", out, err)
			}
			// A range: it verifies from its first line's previous hash; it does not import.
			part := filepath.Join(dir, "part.ndjson")
			if out, err := cmd(sourceCfg, "export", "--out", part, "--from", fmt.Sprint(want[20].Position)); err != nil || !strings.HasPrefix(out, "exported 11 events") {
				t.Fatalf("export --from: %q, %v", out, err)
			}
			if out, err := cmd(sourceCfg, "verify", "--file", part); err != nil || !strings.HasPrefix(out, "ok: 11 events, root none (a range of the log") {
				t.Fatalf("verify a range: %q, %v", out, err)
			}
			// A range that ends before lead 2's erasure: its erased events name where the
			// erasure is, and the range verifies.
			early := filepath.Join(dir, "early.ndjson")
			if out, err := cmd(sourceCfg, "export", "--out", early, "--to", fmt.Sprint(want[10].Position)); err != nil || !strings.HasPrefix(out, "exported 11 events") {
				t.Fatalf("export --to: %q, %v", out, err)
			}
			if out, err := cmd(sourceCfg, "verify", "--file", early); err != nil || !strings.HasPrefix(out, "ok: 11 events") || !strings.Contains(out, "2 of them erased") {
				t.Fatalf("verify a range before the erasure: %q, %v", out, err)
			}
			empty, emptyCfg := storeWithConfig(t, dir, "empty", backends[1])
			defer empty.Close()
			if _, err := cmd(emptyCfg, "import", part); err == nil || !strings.Contains(err.Error(), "only an export from the start imports") {
				t.Fatalf("import a range: %v", err)
			}
		})
	}
}

var testEnv = func(k string) string {
	return map[string]string{"TEST_OPERATOR_TOKEN": testOperator, "TEST_LEADFLO_SECRET": testSecret}[k]
}

// storeWithConfig opens a fresh store of a backend and writes a configuration naming it.
func storeWithConfig(t *testing.T, dir, name, backend string) (*eventstore.Store, string) {
	t.Helper()
	database := eventstoretest.URL(t, backend)
	if backend == "sqlite" {
		database = "sqlite:" + filepath.Join(dir, name+".db")
	}
	store, err := eventstore.Open(context.Background(), eventstore.Config{URL: database})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, name)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	return store, writeConfig(t, sub, freeAddr(t), database)
}

func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
