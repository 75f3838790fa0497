package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	operatorToken = "chaos-operator-token"
	leadfloSecret = "chaos-leadflo-secret"
	hookSecret    = "whsec_Y2hhb3Mtc2luay1zaWduaW5nLWtleS0zMi1ieXRlcw=="
)

// ledger is one `leadledger serve` process.
type ledger struct {
	name    string
	cmd     *exec.Cmd
	url     string
	logPath string
	exited  chan struct{}
	exitErr error
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		abortf("a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes a configuration for database listening on addr. Every process of a run
// shares the master key through master_key_env, as several processes on one database must.
func (e *env) writeConfig(name, addr, database string) string {
	cfg := fmt.Sprintf(`listen: %s
database: "%s"
allow_private_sink_urls: true
master_key_env: CHAOS_MASTER_KEY
tokens:
  - {name: ops, role: operator, token_env: CHAOS_OPERATOR_TOKEN}
sources:
  - id: leadflo
    vendor: leadflo
    auth: {type: header_secret, header: X-Webhook-Secret, secret_env: CHAOS_LEADFLO_SECRET}
`, addr, database)
	path := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		abortf("write config: %v", err)
	}
	return path
}

// serve starts the ledger on cfg (listening on addr) and waits until /readyz answers 200.
func (e *env) serve(name, cfg, addr string) *ledger {
	l := &ledger{name: name, url: "http://" + addr, exited: make(chan struct{}),
		logPath: filepath.Join(e.dir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))}
	logf, err := os.Create(l.logPath)
	if err != nil {
		abortf("log file: %v", err)
	}
	l.cmd = exec.Command(e.opt.bin, "serve", "--config", cfg)
	l.cmd.Dir = e.dir
	l.cmd.Env = append(os.Environ(), "CHAOS_OPERATOR_TOKEN="+operatorToken,
		"CHAOS_LEADFLO_SECRET="+leadfloSecret, "CHAOS_MASTER_KEY="+e.opt.masterKey)
	l.cmd.Stdout, l.cmd.Stderr = logf, logf
	if err := l.cmd.Start(); err != nil {
		abortf("start %s: %v", name, err)
	}
	go func() { l.exitErr = l.cmd.Wait(); logf.Close(); close(l.exited) }()
	e.cleanup(func() { l.kill() })
	if !e.poll(30*time.Second, func() bool { return l.alive() && httpStatus(l.url+"/readyz") == 200 }) {
		l.kill()
		abortf("%s did not become ready in 30 s:\n%s", name, tail(l.logPath, 15))
	}
	return l
}

func (l *ledger) alive() bool {
	select {
	case <-l.exited:
		return false
	default:
		return true
	}
}

func (l *ledger) signal(sig syscall.Signal) {
	if l.alive() {
		_ = l.cmd.Process.Signal(sig)
	}
}

// kill stops the process at once (kill -9) and waits for it.
func (l *ledger) kill() {
	l.signal(syscall.SIGKILL)
	<-l.exited
}

// wait waits up to d for the process to exit; false if it still runs.
func (l *ledger) wait(d time.Duration) bool {
	select {
	case <-l.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// errors are the distinct ERROR messages (with their err) of the process's log, for a report.
func (l *ledger) errors(max int) []string {
	data, _ := os.ReadFile(l.logPath)
	var out []string
	seen := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.Contains(line, `"level":"ERROR"`) {
			continue
		}
		key := line
		if i := strings.Index(line, `"msg"`); i >= 0 {
			key = line[i:] // without the time
		}
		if !seen[key] && len(out) < max {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}

// errorCount is how many ERROR lines the process logged, and the most frequent message.
func (l *ledger) errorCount() (n int, top string) {
	data, _ := os.ReadFile(l.logPath)
	byMsg := map[string]int{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.Contains(line, `"level":"ERROR"`) {
			continue
		}
		n++
		var entry struct {
			Msg string `json:"msg"`
		}
		_ = json.Unmarshal([]byte(line), &entry)
		if byMsg[entry.Msg]++; byMsg[entry.Msg] > byMsg[top] {
			top = entry.Msg
		}
	}
	return n, top
}

// startReceiver runs scripts/receiver recording every delivery; it returns its base URL.
func (e *env) startReceiver() string {
	addr := freeAddr()
	cmd := exec.Command(e.opt.receiver, "-record", "-listen", addr, "-d", "15m")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		abortf("start receiver: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.cleanup(func() { _ = cmd.Process.Kill(); <-done })
	url := "http://" + addr
	if !e.poll(10*time.Second, func() bool { return httpStatus(url+"/count") == 200 }) {
		abortf("the receiver did not start on %s", addr)
	}
	return url
}

// run runs a command to its end, failing the drill with its output if it fails.
func run(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		abortf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var quick = &http.Client{Timeout: 5 * time.Second}

// httpStatus is the status of a GET, 0 when there is no answer.
func httpStatus(url string) int {
	resp, err := quick.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
