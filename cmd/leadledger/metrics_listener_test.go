package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// With metrics.listen and a token, /metrics leaves the API's listener for its own, and wants
// the token there.
func TestServeMetricsOnTheirOwnListener(t *testing.T) {
	dir, addr, metricsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, dir, addr, eventstoretest.SQLiteURL(t))
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withMetrics := fmt.Sprintf("%smetrics: {listen: %q, token_env: TEST_METRICS_TOKEN}\n", data, metricsAddr)
	cfg = filepath.Join(dir, "with-metrics.yaml")
	if err := os.WriteFile(cfg, []byte(withMetrics), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "process-test-metrics-token"
	srv := startWaiting(t, cfg, addr, "TEST_METRICS_TOKEN="+token)
	srv.until(t, "readiness", 30*time.Second, srv.ready)

	scrape := func(url, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := scrape(srv.url+"/metrics", token); status != http.StatusNotFound {
		t.Errorf("/metrics on the API listener: %d, want 404", status)
	}
	if status, _ := scrape("http://"+metricsAddr+"/metrics", ""); status != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", status)
	}
	if status, body := scrape("http://"+metricsAddr+"/metrics", token); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics with the token: %d %.200s", status, body)
	}
	if logs := srv.logs.String(); strings.Contains(logs, token) || !strings.Contains(logs, `"metrics_addr":"`+metricsAddr+`"`) {
		t.Errorf("start-up log shows the token or lacks the metrics address:\n%s", logs)
	}
}

// With debug_listen, the profiler answers there and nowhere else.
func TestServeProfilerOnDebugListen(t *testing.T) {
	dir, addr, debugAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, dir, addr, eventstoretest.SQLiteURL(t))
	srv := startWaiting(t, cfg, addr, "LEDGER_DEBUG_LISTEN="+debugAddr)
	srv.until(t, "readiness", 30*time.Second, srv.ready)

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1"); status != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("goroutine profile on debug_listen: %d %.200s", status, body)
	}
	if status, _ := get(srv.url + "/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the API listener: %d, want 404", status)
	}
	if !strings.Contains(srv.logs.String(), `"debug_addr":"`+debugAddr+`"`) {
		t.Errorf("start-up log lacks the debug address:\n%s", srv.logs.String())
	}
}
