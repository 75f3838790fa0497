package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A full disk (here: the process's file size limit, which fails a write past it with EFBIG as
// a full file system does with ENOSPC) under a running SQLite ledger: webhooks get 503 with
// Retry-After, never a 200 that was not stored and never a 500; when room comes back the same
// process takes webhooks again; every acknowledged event is in the log and the log verifies.
func TestDiskFullThenRoomAgain(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatalf("prlimit (util-linux) is needed to limit the server's file size: %v", err)
	}
	dir, addr := t.TempDir(), freeAddr(t)
	database := filepath.Join(dir, "ledger.db")
	cfg := writeConfig(t, dir, addr, "sqlite:"+database)
	srv := start(t, cfg, addr)
	defer func() { _ = srv.cmd.Process.Kill(); _ = srv.cmd.Wait() }()

	var acked []string
	post := func(i int) (int, string) {
		t.Helper()
		body := fmt.Sprintf(`{"event":"visitor_created","websiteId":"w","data":{"visitor":{"id":"vis_%d","email":"v%d@example.com"}}}`, i, i)
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/v1/ingest/leadflo", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("post webhook: %v", err)
		}
		defer resp.Body.Close()
		var reply struct {
			EventID string `json:"event_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&reply)
		if resp.StatusCode == http.StatusOK {
			acked = append(acked, reply.EventID)
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	next := 0
	for ; next < 20; next++ {
		if status, _ := post(next); status != http.StatusOK {
			t.Fatalf("before the disk fills: %d", status)
		}
	}

	// Room for a few hundred kilobytes more in any file the process writes.
	var largest int64
	for _, name := range []string{database, database + "-wal"} {
		if fi, err := os.Stat(name); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	limit(t, srv, strconv.FormatInt(largest+256<<10, 10))
	refused := 0
	for deadline := time.Now().Add(60 * time.Second); refused < 20; next++ {
		if time.Now().After(deadline) {
			t.Fatalf("no webhook refused in 60 s with the file size limited (%d acknowledged)", len(acked))
		}
		switch status, retryAfter := post(next); {
		case status == http.StatusOK && refused > 0:
			t.Fatalf("webhook %d stored while the disk is full, after %d refusals", next, refused)
		case status == http.StatusServiceUnavailable && retryAfter != "":
			refused++
		case status != http.StatusOK:
			t.Fatalf("webhook %d with a full disk: %d (Retry-After %q), want 503 with Retry-After:\n%s", next, status, retryAfter, srv.logs)
		}
	}

	limit(t, srv, "unlimited")
	for deadline := time.Now().Add(30 * time.Second); ; next++ {
		if status, _ := post(next); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not recover within 30 s of the disk having room again:\n%s", srv.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range 20 {
		if status, _ := post(next); status != http.StatusOK {
			t.Fatalf("after the disk has room again: %d", status)
		}
		next++
	}
	t.Logf("%d webhooks acknowledged, %d refused with 503 while the disk was full", len(acked), refused)

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM after the disk filled: %v\n%s", err, srv.logs)
	}
	if stored := requireStored(t, cfg, addr, acked); stored != len(acked) {
		t.Errorf("%d events in the log, %d acknowledged: a refused webhook was stored", stored, len(acked))
	}
	var out bytes.Buffer
	env := func(k string) string {
		return map[string]string{"TEST_OPERATOR_TOKEN": testOperator, "TEST_LEADFLO_SECRET": testSecret}[k]
	}
	if err := run(context.Background(), []string{"verify", "--config", cfg}, env, &out); err != nil {
		t.Fatalf("verify after the disk filled: %v\n%s", err, out.String())
	}
}

// limit sets the running server's soft file size limit (RLIMIT_FSIZE): bytes, or "unlimited". The
// hard limit stays as it is, so that the soft one may be raised again.
func limit(t *testing.T, srv *server, bytes string) {
	t.Helper()
	out, err := exec.Command("prlimit", "--pid", strconv.Itoa(srv.cmd.Process.Pid), "--fsize="+bytes+":").CombinedOutput()
	if err != nil {
		t.Fatalf("prlimit --fsize=%s: %v: %s", bytes, err, out)
	}
}
