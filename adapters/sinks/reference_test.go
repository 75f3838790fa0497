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

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// TestSignaturesVerifyWithReferenceLibrary checks real deliveries with the Standard Webhooks
// reference library (npm "standardwebhooks", installed by scripts/test.sh), not with our own
// verifier: a receiver written against the spec accepts what the ledger sends.
func TestSignaturesVerifyWithReferenceLibrary(t *testing.T) {
	dir, _ := filepath.Abs("../../scripts/swverify")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the reference library is not installed in %s (scripts/test.sh runs npm ci there): %v", dir, err)
		}
		t.Skip("reference library not installed: run scripts/test.sh, or npm ci --prefix scripts/swverify")
	}
	type captured struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	var mu sync.Mutex
	var got []captured
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := map[string]string{}
		for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			h[k] = r.Header.Get(k)
		}
		mu.Lock()
		got = append(got, captured{Secret: secret, Headers: h, Body: string(body)})
		mu.Unlock()
	}))
	defer rcv.Close()
	l := openLedger(t, eventstoretest.SQLiteURL(t), fastConfig())
	l.addSink(t, rcv.URL, "beginning", sinks.Filter{})
	l.appendEvents(t, "leadflo", 5, 5)
	waitFor(t, "the deliveries", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 5 })

	tampered := got[0]
	tampered.Body = strings.Replace(tampered.Body, `"position"`, `"position" `, 1)
	var input bytes.Buffer
	enc := json.NewEncoder(&input)
	for _, c := range append(got, tampered) {
		_ = enc.Encode(c)
	}
	cmd := exec.Command("node", filepath.Join(dir, "verify.mjs"))
	cmd.Stdin, cmd.Dir = &input, dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v", err)
	}
	var verdicts []string
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		verdicts = append(verdicts, sc.Text())
	}
	if len(verdicts) != 6 {
		t.Fatalf("reference verifier answered %q", out)
	}
	for i, v := range verdicts[:5] {
		if v != "ok" {
			t.Errorf("delivery %d refused by the reference library: %s", i, v)
		}
	}
	if verdicts[5] == "ok" {
		t.Errorf("the reference library accepted a tampered body: the check proves nothing")
	}
}
