package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve passes allow_private_sink_urls to the sinks: with it false (here from the
// environment, over the tests' file, which sets it) a sink to loopback is refused with a 400
// that names the setting.
func TestServeRefusesPrivateSinkURLs(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := writeConfig(t, dir, addr, "sqlite:"+filepath.Join(dir, "ledger.db"))
	srv := startWaiting(t, cfg, addr, "LEDGER_ALLOW_PRIVATE_SINK_URLS=false")
	srv.until(t, "readiness", 30*time.Second, srv.ready)

	body := `{"name":"x","type":"webhook","url":"http://127.0.0.1:9/hook","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`
	req, _ := http.NewRequest(http.MethodPost, srv.url+"/v1/sinks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testOperator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct{ Message string }
	_ = json.NewDecoder(resp.Body).Decode(&reply)
	want := "Invalid url: 127.0.0.1 is a loopback address; set allow_private_sink_urls: true to allow private sink URLs"
	if resp.StatusCode != http.StatusBadRequest || reply.Message != want {
		t.Errorf("create a sink to loopback: %d %q, want 400 %q", resp.StatusCode, reply.Message, want)
	}
}
