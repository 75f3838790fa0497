package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make demo builds bin/leadledger with the git version, runs it on the example configuration,
// posts each vendor's documented example (all acknowledged, the bad one refused) and stops it.
func TestMakeDemo(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dbFile := filepath.Join(t.TempDir(), "demo.db")
	cmd := exec.Command("make", "demo", "DEMO_LISTEN="+freeAddr(t), "DEMO_DATABASE=sqlite:"+dbFile)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	said := string(out)
	if n := strings.Count(said, `"event_id":`); n != 5 {
		t.Errorf("make demo: %d webhooks acknowledged with an event id, want 5 (Conversica, WhatConverts, two LeadFloAgent, Sensei):\n%s", n, said)
	}
	if !strings.Contains(said, `"message":"Lead received successfully"`) || !strings.Contains(said, `email`) {
		t.Errorf("make demo: no Conversica reply, or the lead without email was not refused naming it:\n%s", said)
	}
	if strings.Count(said, `"raw_sha256"`) < 5 {
		t.Errorf("make demo: the stored log was not listed:\n%s", said)
	}
	version, err := exec.Command(filepath.Join(root, "bin", "leadledger"), "--version").Output()
	if err != nil || strings.TrimSpace(string(version)) == "leadledger dev" {
		t.Errorf("bin/leadledger --version: %q, %v; want the git version make build stamps", version, err)
	}
	if _, err := os.Stat(dbFile); err != nil {
		t.Errorf("make demo did not run on DEMO_DATABASE: %v", err)
	}
}
