package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's walk from a clone to a replay into a fake CRM, as a newcomer types it: the
// ledger on the example configuration, the fake CRMs, the vendors' examples, a HubSpot sink
// created and replayed into from the command line; the leads land in the fake HubSpot.
func TestReadmeWalkToAFakeCRM(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fakecrm := filepath.Join(dir, "fakecrm")
	if out, err := exec.Command("go", "build", "-o", fakecrm, filepath.Join(root, "scripts", "fakecrm")).CombinedOutput(); err != nil {
		t.Fatalf("build fakecrm: %v\n%s", err, out)
	}
	crmAddr := freeAddr(t)
	runInBackground(t, exec.Command(fakecrm, "-listen", crmAddr), "http://"+crmAddr+"/stats")

	ledgerAddr := freeAddr(t)
	ledger := exec.Command(binary(t), "serve", "--config", filepath.Join(root, "leadledger.example.yaml"))
	ledger.Env = append(os.Environ(), "LEDGER_LISTEN="+ledgerAddr, "LEDGER_DATABASE=sqlite:"+filepath.Join(dir, "ledger.db"))
	runInBackground(t, ledger, "http://"+ledgerAddr+"/readyz")
	base := "http://" + ledgerAddr

	demo := exec.Command(filepath.Join(root, "scripts", "demo.sh"), base)
	if out, err := demo.CombinedOutput(); err != nil || strings.Count(string(out), `"event_id":`) != 5 {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}

	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(binary(t), args...)
		cmd.Env = append(os.Environ(), "LEDGER_URL="+base, "LEDGER_TOKEN=demo-operator-token")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("leadledger %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var sink struct{ ID string }
	created := cli(`{"name":"hubspot","type":"hubspot","start":"now","config":{"base_url":"http://`+crmAddr+`/hubspot","token":"demo-hubspot-token"}}`,
		"sinks", "create", "--json", "-")
	if err := json.Unmarshal([]byte(created), &sink); err != nil || sink.ID == "" {
		t.Fatalf("sinks create --json -: %v\n%s", err, created)
	}
	if strings.Contains(created, "demo-hubspot-token") {
		t.Errorf("the created sink shows its token:\n%s", created)
	}
	replay := cli("", "sinks", "replay", sink.ID, "--from-position", "0", "--watch")
	if !regexp.MustCompile(`completed: 5 of 5 events delivered, 0 failed`).MatchString(replay) {
		t.Fatalf("sinks replay --watch:\n%s", replay)
	}

	var stats struct {
		HubSpot struct{ Contacts int } `json:"hubspot"`
	}
	resp, err := http.Get("http://" + crmAddr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	// Five webhooks of four people with an email: Conversica, WhatConverts, LeadFloAgent's
	// visitor (whose conversation ended in the fifth) and Sensei.
	if stats.HubSpot.Contacts != 4 {
		t.Errorf("the fake HubSpot holds %d contacts after the replay, want the demo's 4 people", stats.HubSpot.Contacts)
	}
}

// runInBackground starts cmd, waits (20 s at most) until url answers 200, and stops it when
// the test ends.
func runInBackground(t *testing.T, cmd *exec.Cmd, url string) {
	t.Helper()
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not answer %s:\n%s", cmd.Path, url, logs.String())
}
