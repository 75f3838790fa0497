package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The operator's commands, through the built binary against a running ledger: tail the log
// (and follow it), find and read a lead, add a webhook sink, pause and resume it, replay the log
// into it and watch the replay to its end; a wrong or missing token fails naming the problem.
// The API is the same on both databases: SQLite here.
func TestCLIAgainstARunningLedger(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	srv := start(t, writeConfig(t, dir, addr, "sqlite:"+filepath.Join(dir, "ledger.db")), addr)
	defer stop(t, srv)
	postWebhooks(t, srv.url, 30)
	bin := binary(t)
	cli := func(t *testing.T, token string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "LEDGER_URL="+srv.url, "LEDGER_TOKEN="+token, "CLI_SINK_SECRET=whsec_"+base64.StdEncoding.EncodeToString([]byte("cli-test-signing-secret-32-bytes")))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := cli(t, testOperator, args...)
		if err != nil {
			t.Fatalf("leadledger %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	t.Run("events tail", func(t *testing.T) {
		out := must(t, "events", "tail", "--after", "0")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 30 || !strings.HasPrefix(lines[0], "1\t") ||
			!strings.Contains(lines[29], "LeadCaptured") && !strings.Contains(lines[29], "LeadUpdated") {
			t.Errorf("events tail printed %d lines, want 30 starting at position 1:\n%s", len(lines), out)
		}
		if last := must(t, "events", "tail", "--last", "5"); strings.Count(last, "\n") != 5 {
			t.Errorf("events tail --last 5:\n%s", last)
		}
		var e map[string]any
		first := strings.SplitN(must(t, "events", "tail", "--after", "0", "--json"), "\n", 2)[0]
		if err := json.Unmarshal([]byte(first), &e); err != nil || e["raw"] == "" || e["hash"] == "" {
			t.Errorf("events tail --json: %v\n%s", err, first)
		}

		// --poll 1h: only the event stream can bring an event appended once it has caught up.
		follow := exec.Command(bin, "events", "tail", "--follow", "--poll", "1h", "--after", "30")
		follow.Env = append(os.Environ(), "LEDGER_URL="+srv.url, "LEDGER_TOKEN="+testOperator)
		stdout, err := follow.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = follow.Process.Kill(); _ = follow.Wait() }()
		time.Sleep(300 * time.Millisecond) // caught up and streaming, most likely: either way it must print
		postWebhooks(t, srv.url, 1)
		got := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			got <- line
		}()
		select {
		case line := <-got:
			if !strings.HasPrefix(line, "31\t") {
				t.Errorf("events tail --follow printed %q, want position 31", line)
			}
		case <-time.After(10 * time.Second):
			t.Error("events tail --follow printed nothing for the event appended after it started")
		}
	})

	t.Run("leads", func(t *testing.T) {
		out := must(t, "leads", "search", "--source", "leadflo", "--limit", "100")
		ids := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s+leadflo`).FindAllStringSubmatch(out, -1)
		if len(ids) != 30 { // 30 visitors
			t.Fatalf("leads search --source leadflo: %d leads:\n%s", len(ids), out)
		}
		var lead map[string]any
		if err := json.Unmarshal([]byte(must(t, "leads", "get", ids[0][1])), &lead); err != nil || lead["id"] != ids[0][1] {
			t.Errorf("leads get %s: %v %v", ids[0][1], lead, err)
		}
		if history := must(t, "leads", "get", "--history", ids[0][1]); !strings.Contains(history, `"raw_sha256"`) {
			t.Errorf("leads get --history:\n%s", history)
		}
		if out, err := cli(t, testOperator, "leads", "get", "00000000-0000-0000-0000-000000000000"); err == nil || !strings.Contains(out, "404") {
			t.Errorf("leads get of an unknown lead: %v\n%s", err, out)
		}
		if out, err := cli(t, testOperator, "leads", "search"); err == nil || !strings.Contains(out, "give --email, --source or --q") {
			t.Errorf("leads search without a filter: %v\n%s", err, out)
		}
	})

	t.Run("sinks and replays", func(t *testing.T) {
		receiver := newCountingReceiver(t, 0)
		var sink struct{ ID, Status string }
		if err := json.Unmarshal([]byte(must(t, "sinks", "create", "--name", "cli", "--target", receiver.srv.URL, "--secret-env", "CLI_SINK_SECRET", "--start", "now")), &sink); err != nil || sink.ID == "" {
			t.Fatalf("sinks create: %v %+v", err, sink)
		}
		if list := must(t, "sinks", "list"); !regexp.MustCompile(sink.ID + `\s+cli\s+webhook\s+active`).MatchString(list) {
			t.Errorf("sinks list does not show the new sink active:\n%s", list)
		}
		if out := must(t, "sinks", "pause", sink.ID); !strings.Contains(out, "paused") {
			t.Errorf("sinks pause: %s", out)
		}
		if out := must(t, "sinks", "resume", sink.ID); !strings.Contains(out, "active") {
			t.Errorf("sinks resume: %s", out)
		}
		out := must(t, "sinks", "replay", sink.ID, "--from-position", "0", "--watch")
		if !regexp.MustCompile(`replay \S+ completed: 31 of 31 events delivered, 0 failed`).MatchString(out) {
			t.Errorf("sinks replay --watch:\n%s", out)
		}
		replayID := regexp.MustCompile(`replay (\S+) started`).FindStringSubmatch(out)
		if replayID == nil {
			t.Fatalf("sinks replay printed no replay id:\n%s", out)
		}
		if out := must(t, "replays", "watch", replayID[1]); !strings.Contains(out, "completed: 31 of 31") {
			t.Errorf("replays watch of a finished replay:\n%s", out)
		}
		if distinct, _ := receiver.counts(); distinct != 31 {
			t.Errorf("the receiver got %d distinct events, want 31", distinct)
		}
	})

	t.Run("wrong or missing token", func(t *testing.T) {
		if out, err := cli(t, "not-a-token", "sinks", "list"); err == nil || !strings.Contains(out, "401") {
			t.Errorf("a wrong token: %v\n%s", err, out)
		}
		if out, err := cli(t, "", "events", "tail"); err == nil || !strings.Contains(out, "LEDGER_TOKEN is not set") {
			t.Errorf("no token: %v\n%s", err, out)
		}
		bad := filepath.Join(t.TempDir(), "sink.json")
		if err := os.WriteFile(bad, []byte(`{"name":`), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := cli(t, testOperator, "sinks", "create", "--json", bad); err == nil || !strings.Contains(out, "not a JSON document") {
			t.Errorf("sinks create --json with a broken file: %v\n%s", err, out)
		}
		if out, err := cli(t, testOperator, "sinks", "frobnicate"); err == nil || !strings.Contains(out, "want one of create, list, pause, replay, resume") {
			t.Errorf("an unknown action: %v\n%s", err, out)
		}
	})
}
