package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// signedReceiver acknowledges webhooks and counts, by webhook-id, those signed with its secret.
type signedReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	key      []byte
	valid    map[string]bool
	rejected int
}

func newSignedReceiver(t *testing.T, secret string) *signedReceiver {
	key, err := standardwebhooks.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &signedReceiver{key: key, valid: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !standardwebhooks.Verify([][]byte{r.key}, req.Header, body, time.Now()) {
			r.rejected++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.valid[req.Header.Get("webhook-id")] = true
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *signedReceiver) counts() (valid, rejected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.valid), r.rejected
}

// startKeyed runs serve with extra environment variables, waiting until it is ready.
func startKeyed(t *testing.T, cfgPath, addr string, env ...string) *server {
	t.Helper()
	s := &server{url: "http://" + addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(binary(t), "serve", "--config", cfgPath)
	s.cmd.Dir = filepath.Dir(cfgPath)
	s.cmd.Env = append(append(os.Environ(), "TEST_OPERATOR_TOKEN="+testOperator, "TEST_LEADFLO_SECRET="+testSecret), env...)
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	waitUntil(t, "the server to be ready", func() bool {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

// leadledger runs a command of the binary to its end.
func leadledger(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "TEST_OPERATOR_TOKEN="+testOperator, "TEST_LEADFLO_SECRET="+testSecret), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func newMasterKey(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

func requireOutput(t *testing.T, what, out string, err error, wantErr bool, wants ...string) {
	t.Helper()
	if (err != nil) != wantErr {
		t.Errorf("%s: exit %v (want an error: %v)\n%s", what, err, wantErr, out)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s: output does not say %q:\n%s", what, want, out)
		}
	}
}

// A master key rotation through the binary, while a server serves: sink secrets (a current and
// a rotated-out one), a CRM token and the checkpoint signing key are sealed under key A; a
// server with B current and A previous serves them; rotate-key re-seals them all under B (and
// nothing the second time); a server with B alone then signs webhooks with the right secret and
// writes to the CRM with the right token, and one with A alone does not start. No key or secret
// shows in any output.
func TestRotateMasterKey(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			addr := freeAddr(t)
			database := eventstoretest.URL(t, backend)
			cfg := writeConfig(t, dir, addr, database)
			keyA, keyB := newMasterKey(t), newMasterKey(t)
			keys := []string{"KEY_A=" + keyA, "KEY_B=" + keyB}
			onlyA := append([]string{"LEDGER_MASTER_KEY_ENV=KEY_A"}, keys...)
			during := append([]string{"LEDGER_MASTER_KEY_ENV=KEY_B", "LEDGER_MASTER_KEY_PREVIOUS_ENV=KEY_A"}, keys...)
			onlyB := append([]string{"LEDGER_MASTER_KEY_ENV=KEY_B"}, keys...)
			first, second := "whsec_"+base64.StdEncoding.EncodeToString([]byte("first-webhook-secret-0123456789")),
				"whsec_"+base64.StdEncoding.EncodeToString([]byte("second-webhook-secret-012345678"))
			receiver := newSignedReceiver(t, second)
			fake := fakehubspot.New(fakehubspot.Config{Token: hubspotToken})
			crm := httptest.NewServer(fake)
			defer crm.Close()
			var outputs strings.Builder

			srv := startKeyed(t, cfg, addr, onlyA...)
			hook := srv.api(t, "POST", "/v1/sinks", fmt.Sprintf(`{"name":"hook","type":"webhook","url":%q,"secret":%q,"start":"now"}`, receiver.srv.URL, first))
			srv.api(t, "POST", "/v1/sinks/"+hook["id"].(string)+"/secret", fmt.Sprintf(`{"secret":%q,"expire_old_after":"24h"}`, second))
			srv.api(t, "POST", "/v1/sinks", fmt.Sprintf(`{"name":"hubspot","type":"hubspot","start":"beginning","config":{"base_url":%q,"token":%q}}`, crm.URL, hubspotToken))
			postVisitors(t, srv.url, 0, 3)
			waitUntil(t, "3 contacts and 3 webhooks", func() bool { v, _ := receiver.counts(); return len(fake.Contacts()) == 3 && v == 3 })
			stop(t, srv)
			outputs.WriteString(srv.logs.String())

			// Step 1: the server restarted with B current and A previous; rotate-key while it serves.
			srv = startKeyed(t, cfg, addr, during...)
			out, err := leadledger(t, dir, during, "rotate-key", "--check", "--config", cfg)
			outputs.WriteString(out)
			requireOutput(t, "rotate-key --check before", out, err, true,
				"sinks: 3 values not under the current key", "ledger_signing_key: 1 value not under the current key", "run leadledger rotate-key")
			out, err = leadledger(t, dir, during, "rotate-key", "--config", cfg)
			outputs.WriteString(out)
			t.Logf("leadledger rotate-key:\n%s", out)
			requireOutput(t, "rotate-key", out, err, false,
				"sinks: re-sealed 3 values (config 1, old_secret 1, secret 1); 0 already under the current key",
				"ledger_signing_key: re-sealed 1 value; 0 already", "none is left under an older key")
			postVisitors(t, srv.url, 3, 5)
			waitUntil(t, "5 contacts and 5 webhooks", func() bool { v, _ := receiver.counts(); return len(fake.Contacts()) == 5 && v == 5 })
			out, err = leadledger(t, dir, during, "rotate-key", "--config", cfg)
			outputs.WriteString(out)
			requireOutput(t, "rotate-key again", out, err, false, "sinks: re-sealed 0 values; 3 already under the current key",
				"ledger_signing_key: re-sealed 0 values; 1 already")
			out, err = leadledger(t, dir, during, "rotate-key", "--check", "--config", cfg)
			outputs.WriteString(out)
			requireOutput(t, "rotate-key --check after", out, err, false, "none is left under an older key")
			stop(t, srv)
			outputs.WriteString(srv.logs.String())

			// Step 2: B alone.
			srv = startKeyed(t, cfg, addr, onlyB...)
			postVisitors(t, srv.url, 5, 8)
			waitUntil(t, "8 contacts and 8 webhooks", func() bool { v, _ := receiver.counts(); return len(fake.Contacts()) == 8 && v == 8 })
			if _, rejected := receiver.counts(); rejected > 0 {
				t.Errorf("%d webhooks were not signed with the sink's secret", rejected)
			}
			stop(t, srv)
			outputs.WriteString(srv.logs.String())

			// A alone opens nothing any more: serve stops, naming the key problem.
			out, err = leadledger(t, dir, onlyA, "serve", "--config", cfg)
			outputs.WriteString(out)
			t.Logf("serve with the old key alone:\n%s", out)
			requireOutput(t, "serve with the old key alone", out, err, true, "sealed with a key the keyring does not hold", "master_key_previous_env")

			for name, s := range map[string]string{"key A": keyA, "key B": keyB, "first secret": first, "second secret": second, "CRM token": hubspotToken} {
				if strings.Contains(outputs.String(), s) {
					t.Errorf("the %s shows in the output or the logs", name)
				}
			}
		})
	}
}

// With a master key file: rotate-key --new-key-file keeps the key as master.key.previous and
// writes a new one; a restarted server opens with both; rotate-key re-seals; once the previous
// file is deleted, a server with the new key alone delivers.
func TestRotateMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, "sqlite:"+filepath.Join(dir, "data", "ledger.db"))
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("key-file-webhook-secret-0123456"))
	receiver := newSignedReceiver(t, secret)
	srv := start(t, cfg, addr)
	srv.api(t, "POST", "/v1/sinks", fmt.Sprintf(`{"name":"hook","type":"webhook","url":%q,"secret":%q,"start":"now"}`, receiver.srv.URL, secret))
	postVisitors(t, srv.url, 0, 2)
	waitUntil(t, "2 webhooks", func() bool { v, _ := receiver.counts(); return v == 2 })
	stop(t, srv)
	keyFile := filepath.Join(dir, "data", "master.key")
	oldKey := mustReadFile(t, keyFile)

	out, err := leadledger(t, dir, nil, "rotate-key", "--new-key-file", "--config", cfg)
	requireOutput(t, "rotate-key --new-key-file", out, err, false, "new master key", keyFile+".previous", "restart every server")
	if !bytes.Equal(mustReadFile(t, keyFile+".previous"), oldKey) || bytes.Equal(mustReadFile(t, keyFile), oldKey) {
		t.Fatal("the key file was not rotated")
	}
	out, err = leadledger(t, dir, nil, "rotate-key", "--new-key-file", "--config", cfg)
	requireOutput(t, "a second rotate-key --new-key-file", out, err, true, "a master key rotation is under way")

	srv = start(t, cfg, addr)
	out, err = leadledger(t, dir, nil, "rotate-key", "--config", cfg)
	requireOutput(t, "rotate-key", out, err, false, "sinks: re-sealed 1 value (secret 1)", "ledger_signing_key: re-sealed 1 value", "none is left")
	postVisitors(t, srv.url, 2, 3)
	waitUntil(t, "3 webhooks", func() bool { v, _ := receiver.counts(); return v == 3 })
	stop(t, srv)

	if err := os.Remove(keyFile + ".previous"); err != nil {
		t.Fatal(err)
	}
	srv = start(t, cfg, addr)
	postVisitors(t, srv.url, 3, 4)
	waitUntil(t, "4 webhooks", func() bool { v, _ := receiver.counts(); return v == 4 })
	stop(t, srv)
	if _, rejected := receiver.counts(); rejected > 0 {
		t.Errorf("%d webhooks were not signed with the sink's secret", rejected)
	}
	if strings.Contains(srv.logs.String(), secret) || strings.Contains(out, strings.TrimSpace(string(oldKey))) {
		t.Error("a secret or a key shows in the output or the logs")
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
