package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

const hubspotToken = "pat-na1-process-test-0123456789"

// postVisitors sends LeadFloAgent visitors with emails, one per person.
func postVisitors(t *testing.T, url string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		body := fmt.Sprintf(`{"event":"visitor_created","websiteId":"w","data":{"visitor":{"id":"v%d","name":"Visitor %d","email":"visitor%d@example.com"}}}`, i, i, i)
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/ingest/leadflo", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("post visitor: %v %v", resp, err)
		}
		resp.Body.Close()
	}
}

// The built binary, on its embedded default, writes leads into a HubSpot sink created through
// the API; the token is sealed at rest under a master key the server created (0600, beside the
// database), never shown by the API nor logged, and still opens after a restart.
func TestHubSpotSinkWithSealedToken(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	dbPath := filepath.Join(dir, "data", "ledger.db")
	cfg := writeConfig(t, dir, addr, "sqlite:"+dbPath)
	fake := fakehubspot.New(fakehubspot.Config{Token: hubspotToken})
	crm := httptest.NewServer(fake)
	defer crm.Close()

	srv := start(t, cfg, addr)
	sink := srv.api(t, "POST", "/v1/sinks", fmt.Sprintf(`{"name":"hubspot","type":"hubspot","start":"beginning",
		"config":{"base_url":%q,"token":%q}}`, crm.URL, hubspotToken))
	postVisitors(t, srv.url, 0, 5)
	waitUntil(t, "5 contacts in HubSpot", func() bool { return len(fake.Contacts()) == 5 })

	info, err := os.Stat(filepath.Join(dir, "data", "master.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v, %v; want it created 0600 beside the database", info, err)
	}
	var secret, config string
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT secret, config FROM sinks`).Scan(&secret, &config); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(config, hubspotToken) || !strings.HasPrefix(config, "sealed:") {
		t.Errorf("the sink's config is stored as %q: want it sealed", config)
	}
	shown := srv.api(t, "GET", "/v1/sinks/"+sink["id"].(string), "")
	if fmt.Sprint(shown["config"].(map[string]any)["token"]) != "REDACTED" || strings.Contains(fmt.Sprint(shown), hubspotToken) {
		t.Errorf("the API shows %v: want the token REDACTED", shown["config"])
	}

	stop(t, srv)
	srv = start(t, cfg, addr)
	postVisitors(t, srv.url, 5, 8)
	waitUntil(t, "the contacts written after a restart", func() bool { return len(fake.Contacts()) == 8 })
	stop(t, srv)
	if strings.Contains(srv.logs.String(), hubspotToken) {
		t.Errorf("the token is in the log")
	}
}

// stop ends a server with SIGTERM and waits for it.
func stop(t *testing.T, s *server) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("server exit: %v\n%s", err, s.logs)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
