package sinks_test

import (
	"bufio"
	"bytes"
	"encoding/json"
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
)

// request is one request a recorder got, as sent.
type request struct {
	header http.Header
	body   []byte
	at     time.Time
}

// recorder is a receiver on loopback that keeps every request and answers status.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []request
	status int
}

func newRecorder(t *testing.T, status int) *recorder {
	r := &recorder{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{header: req.Header.Clone(), body: body, at: time.Now()})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

func (r *recorder) answer(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

// verifies reports whether a receiver holding only secret accepts the request.
func verifies(t *testing.T, secret string, r request) bool {
	t.Helper()
	key, err := standardwebhooks.DecodeSecret(secret)
	if err != nil {
		t.Fatalf("decode secret: %v", err)
	}
	return standardwebhooks.Verify([][]byte{key}, r.header, r.body, time.Now())
}

// referenceVerdicts checks each request, under each secret, with the Standard Webhooks
// reference library (scripts/swverify): "ok" or its error, in order.
func referenceVerdicts(t *testing.T, checks []struct {
	secret string
	req    request
}) []string {
	t.Helper()
	dir, _ := filepath.Abs("../../scripts/swverify")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the reference library is not installed in %s: %v", dir, err)
		}
		t.Skip("reference library not installed: run scripts/test.sh, or npm ci --prefix scripts/swverify")
	}
	var input bytes.Buffer
	enc := json.NewEncoder(&input)
	for _, c := range checks {
		h := map[string]string{}
		for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			h[k] = c.req.header.Get(k)
		}
		_ = enc.Encode(map[string]any{"secret": c.secret, "headers": h, "body": string(c.req.body)})
	}
	cmd := exec.Command("node", filepath.Join(dir, "verify.mjs"))
	cmd.Stdin, cmd.Dir = &input, dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v", err)
	}
	var verdicts []string
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		verdicts = append(verdicts, strings.TrimSpace(sc.Text()))
	}
	if len(verdicts) != len(checks) {
		t.Fatalf("reference verifier answered %q for %d checks", out, len(checks))
	}
	return verdicts
}
