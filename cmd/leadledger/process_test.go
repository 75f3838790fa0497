package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// These tests run the real binary as a separate process, because what they check (kill -9,
// SIGTERM) happens to processes.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "leadledger-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "leadledger")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

const (
	testSecret   = "process-test-leadflo-secret"
	testOperator = "process-test-operator-token"
)

// server is one run of the binary.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeConfig(t *testing.T, dir, addr, database string) string {
	t.Helper()
	cfg := fmt.Sprintf(`listen: %s
database: "%s"
allow_private_sink_urls: true   # the tests' receivers are on loopback
tokens:
  - {name: ops, role: operator, token_env: TEST_OPERATOR_TOKEN}
sources:
  - id: leadflo
    vendor: leadflo
    auth: {type: header_secret, header: X-Webhook-Secret, secret_env: TEST_LEADFLO_SECRET}
`, addr, database)
	path := filepath.Join(dir, "ledger.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func start(t *testing.T, cfgPath, addr string) *server {
	t.Helper()
	s := &server{url: "http://" + addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(binary(t), "serve", "--config", cfgPath)
	s.cmd.Dir = filepath.Dir(cfgPath) // a master key file of a PostgreSQL store lands there, not in the repository
	s.cmd.Env = append(os.Environ(), "TEST_OPERATOR_TOKEN="+testOperator, "TEST_LEADFLO_SECRET="+testSecret)
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = s.cmd.Process.Kill()
	t.Fatalf("server did not become ready:\n%s", s.logs)
	return nil
}

// loader posts webhooks from several senders until finished, keeping the ids of the events the
// server acknowledged.
type loader struct {
	mu    sync.Mutex
	acked []string
	stop  chan struct{}
	done  sync.WaitGroup
}

func startLoad(url string) *loader {
	l := &loader{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 16 {
		l.done.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"event":"visitor_created","timestamp":"2025-03-01T14:22:00.000Z","websiteId":"w","data":{"visitor":{"id":"vis_%d","email":"v%d@example.com","seq":%d}}}`, i%50, w, i)
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/ingest/leadflo", strings.NewReader(body))
				req.Header.Set("X-Webhook-Secret", testSecret)
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // the server is down: keep trying until told to stop
					continue
				}
				var reply struct {
					EventID string `json:"event_id"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&reply)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					l.mu.Lock()
					l.acked = append(l.acked, reply.EventID)
					l.mu.Unlock()
				}
			}
		})
	}
	return l
}

// count is how many webhooks were acknowledged so far.
func (l *loader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// finish stops the senders and returns the ids of the acknowledged events.
func (l *loader) finish() []string {
	close(l.stop)
	l.done.Wait()
	return l.acked
}

// storedEvents pages through /v1/events, checking every raw body against its digest.
func storedEvents(t *testing.T, url string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for after := int64(0); ; {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/events?after=%d&limit=1000", url, after), nil)
		req.Header.Set("Authorization", "Bearer "+testOperator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		var page struct {
			Events []struct {
				ID        string `json:"id"`
				Raw       string `json:"raw"`
				RawSHA256 string `json:"raw_sha256"`
			} `json:"events"`
			NextAfter int64 `json:"next_after"`
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(data, &page); err != nil {
			t.Fatalf("events page: %v: %s", err, data)
		}
		if len(page.Events) == 0 {
			return ids
		}
		for _, e := range page.Events {
			sum := sha256.Sum256([]byte(e.Raw))
			if hex.EncodeToString(sum[:]) != e.RawSHA256 {
				t.Fatalf("event %s: raw body does not match its sha256 after the crash", e.ID)
			}
			ids[e.ID] = true
		}
		after = page.NextAfter
	}
}

// signalUnderLoad sends webhooks to the server, signals it once at least n were acknowledged
// (however long a busy machine takes to get there), waits for it to exit, and returns the ids
// of the events it acknowledged and how it exited.
func signalUnderLoad(t *testing.T, srv *server, n int, sig os.Signal) (acked []string, exit error) {
	t.Helper()
	l := startLoad(srv.url)
	for deadline := time.Now().Add(60 * time.Second); l.count() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = srv.cmd.Process.Kill()
			_ = srv.cmd.Wait()
			t.Fatalf("only %d of %d webhooks acknowledged in 60s:\n%s", len(l.finish()), n, srv.logs)
		}
	}
	if err := srv.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	exit = srv.cmd.Wait()
	return l.finish(), exit
}

// requireStored restarts the server and checks that every acknowledged event is in the log.
func requireStored(t *testing.T, cfg, addr string, acked []string) int {
	t.Helper()
	srv := start(t, cfg, addr)
	defer func() { _ = srv.cmd.Process.Kill(); _ = srv.cmd.Wait() }()
	stored := storedEvents(t, srv.url)
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("event %s was acknowledged and is gone after the restart", id)
		}
	}
	return len(stored)
}

func TestKill9LosesNoAcknowledgedEvent(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			cfg := writeConfig(t, dir, addr, eventstoretest.URL(t, backend))
			acked, _ := signalUnderLoad(t, start(t, cfg, addr), 500, syscall.SIGKILL)
			stored := requireStored(t, cfg, addr, acked)
			t.Logf("%s: %d acknowledged before kill -9, %d stored, none lost", backend, len(acked), stored)
		})
	}
}

func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := writeConfig(t, dir, addr, eventstoretest.URL(t, "sqlite"))
	srv := start(t, cfg, addr)
	acked, exit := signalUnderLoad(t, srv, 100, syscall.SIGTERM)
	if exit != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0\n%s", exit, srv.logs)
	}
	requireStored(t, cfg, addr, acked)
}

func TestMissingSecretVariableIsAStartupError(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freeAddr(t), eventstoretest.SQLiteURL(t))
	env := map[string]string{"TEST_OPERATOR_TOKEN": testOperator} // TEST_LEADFLO_SECRET unset
	err := run(context.Background(), []string{"serve", "--config", cfg}, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TEST_LEADFLO_SECRET") {
		t.Fatalf("serve without the secret's variable: err = %v, want one naming TEST_LEADFLO_SECRET", err)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, os.Getenv, &out); err != nil || !strings.HasPrefix(out.String(), "leadledger ") {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
}

// migrate creates every component's tables, all of those serve would, and says so; run again,
// it finds everything there.
func TestMigrateCreatesTheSchemaIdempotently(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			database := eventstoretest.URL(t, backend)
			addr := freeAddr(t)
			cfg := writeConfig(t, t.TempDir(), addr, database)
			env := map[string]string{"TEST_OPERATOR_TOKEN": testOperator, "TEST_LEADFLO_SECRET": testSecret}
			var said [2]string
			for i := range said {
				var out bytes.Buffer
				if err := run(ctx, []string{"migrate", "--config", cfg}, func(k string) string { return env[k] }, &out); err != nil {
					t.Fatalf("migrate #%d: %v", i+1, err)
				}
				said[i] = out.String()
			}
			store, err := eventstore.Open(ctx, eventstore.Config{URL: database})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if head, err := store.Head(ctx); err != nil || head != 0 {
				t.Fatalf("after migrate the log should exist and be empty: head %d, %v", head, err)
			}
			migrated, err := store.Tables(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := fmt.Sprintf("log schema: version 0 -> %d\ntables: created %d of %d: %s\n",
				eventstore.LatestSchemaVersion(), len(migrated), len(migrated), strings.Join(migrated, ", "))
			if !strings.HasSuffix(said[0], first) {
				t.Errorf("first migrate said:\n%s\nwant it to end with:\n%s", said[0], first)
			}
			again := fmt.Sprintf("log schema: version %d, up to date\ntables: all %d there already\n", eventstore.LatestSchemaVersion(), len(migrated))
			if !strings.HasSuffix(said[1], again) {
				t.Errorf("second migrate said:\n%s\nwant it to end with:\n%s", said[1], again)
			}
			for _, component := range []string{"ledger_events", "lead_view", "sinks", "sink_records", "ledger_tree_nodes", "ledger_signing_key"} {
				if !slices.Contains(migrated, component) {
					t.Errorf("migrate did not create %s", component)
				}
			}
			stop(t, start(t, cfg, addr))
			if served, err := store.Tables(ctx); err != nil || !slices.Equal(served, migrated) {
				t.Errorf("serve found the schema incomplete: tables after serve %v, after migrate %v (%v)", served, migrated, err)
			}
		})
	}
}

// A command that opens a database needs to be told which: without --config, LEDGER_CONFIG or
// LEDGER_DATABASE it fails saying so, and creates nothing where it was run.
func TestCommandsWithoutConfigurationFail(t *testing.T) {
	bin := binary(t)
	for _, args := range [][]string{{"serve"}, {"migrate"}, {"rebuild"}, {"verify"}, {"export", "--out", "x.ndjson"}, {"import", "x.ndjson"}} {
		dir := t.TempDir()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LEDGER_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no configuration: pass --config FILE, or set LEDGER_CONFIG or LEDGER_DATABASE") {
			t.Errorf("leadledger %s without configuration: %v\n%s", strings.Join(args, " "), err, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("leadledger %s without configuration left %s behind", strings.Join(args, " "), entries[0].Name())
		}
	}
}

// verify and export read a database as it is: one not yet migrated is refused with what to do,
// and left as it was. A schema newer than this build is refused by every command, migrate and
// serve included: an older leadledger must not run against what a newer one wrote.
func TestSchemaVersionIsChecked(t *testing.T) {
	bin := binary(t)
	run := func(t *testing.T, cfg string, args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "--config", cfg)...)
		cmd.Env = append(os.Environ(), "TEST_OPERATOR_TOKEN="+testOperator, "TEST_LEADFLO_SECRET="+testSecret)
		cmd.Dir = filepath.Dir(cfg)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dir := t.TempDir()
	fresh := "sqlite:" + filepath.Join(dir, "fresh.db")
	cfg := writeConfig(t, dir, freeAddr(t), fresh)
	for _, args := range [][]string{{"verify"}, {"export", "--out", filepath.Join(dir, "x.ndjson")}} {
		out, err := run(t, cfg, args...)
		if err == nil || !strings.Contains(out, "the database's schema is version 0, and this leadledger reads version") ||
			!strings.Contains(out, "run leadledger migrate first") {
			t.Errorf("%s on a database never migrated: %v\n%s", args[0], err, out)
		}
	}
	store, err := eventstore.Open(context.Background(), eventstore.Config{URL: fresh})
	if err != nil {
		t.Fatal(err)
	}
	if tables, err := store.Tables(context.Background()); err != nil || len(tables) != 0 {
		t.Errorf("verify and export changed the database they read: tables %v (%v)", tables, err)
	}
	_ = store.Close()

	for _, backend := range eventstoretest.Backends {
		t.Run("newer schema on "+backend, func(t *testing.T) {
			database := eventstoretest.URL(t, backend)
			cfg := writeConfig(t, t.TempDir(), freeAddr(t), database)
			if out, err := run(t, cfg, "migrate"); err != nil {
				t.Fatalf("migrate: %v\n%s", err, out)
			}
			store, err := eventstore.Open(context.Background(), eventstore.Config{URL: database})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if _, err := store.DB().Exec(store.Rebind(`INSERT INTO ledger_migrations (version, applied_at) VALUES (99, ?)`), time.Now().UTC().Format(time.RFC3339)); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"migrate"}, {"verify"}, {"serve"}} {
				out, err := run(t, cfg, args...)
				if err == nil || !strings.Contains(out, "the database's schema is version 99, newer than this leadledger knows") {
					t.Errorf("%s on a newer schema: %v\n%s", args[0], err, out)
				}
			}
		})
	}
}
