package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// withPassword gives a database URL a password in both forms the log must mask (user info and
// ?password=); the test PostgreSQL trusts loopback, or already has one. It returns the password.
func withPassword(t *testing.T, database string) (string, string) {
	t.Helper()
	u, err := url.Parse(database)
	if err != nil {
		t.Fatal(err)
	}
	password, ok := u.User.Password()
	if !ok {
		password = "s3cret-database-password"
		u.User = url.UserPassword(u.User.Username(), password)
	}
	q := u.Query()
	q.Set("password", password)
	u.RawQuery = q.Encode()
	return u.String(), password
}

// waitingServer is a run of the binary that is not expected to be ready at once.
type waitingServer struct {
	cmd    *exec.Cmd
	url    string
	logs   *lockedBuffer
	exited chan struct{} // closed when the process has exited; err is then set
	err    error
}

func startWaiting(t *testing.T, cfgPath, addr string, env ...string) *waitingServer {
	t.Helper()
	s := &waitingServer{url: "http://" + addr, logs: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binary(t), "serve", "--config", cfgPath)
	s.cmd.Dir = filepath.Dir(cfgPath) // a master key file of a PostgreSQL store lands there, not in the repository
	s.cmd.Env = append(append(os.Environ(), "TEST_OPERATOR_TOKEN="+testOperator, "TEST_LEADFLO_SECRET="+testSecret), env...)
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// until waits for cond, failing the test past the deadline or if the process exits first.
func (s *waitingServer) until(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		select {
		case <-s.exited:
			t.Fatalf("the server exited (%v) before %s:\n%s", s.err, what, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s:\n%s", what, within, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *waitingServer) ready() bool {
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// A ledger started before its PostgreSQL waits for it, saying so at each try, and comes up
// when it appears: a container start order does not matter.
func TestServeWaitsForTheDatabase(t *testing.T) {
	proxy, database := eventstoretest.PostgresProxy(t, eventstoretest.PostgresURL(t))
	database, password := withPassword(t, database)
	proxy.Stop()
	addr := freeAddr(t)
	srv := startWaiting(t, writeConfig(t, t.TempDir(), addr, database), addr, "LEDGER_DATABASE_WAIT=60s")

	const retrying = `"msg":"database not ready; trying again"`
	srv.until(t, "second try", 30*time.Second, func() bool { return strings.Count(srv.logs.String(), retrying) >= 2 })
	proxy.Start()
	srv.until(t, "readiness after the database came up", 60*time.Second, srv.ready)

	req, _ := http.NewRequest(http.MethodPost, srv.url+"/v1/ingest/leadflo",
		strings.NewReader(`{"event":"visitor_created","timestamp":"2025-03-01T14:22:00.000Z","websiteId":"w","data":{"visitor":{"id":"vis_1"}}}`))
	req.Header.Set("X-Webhook-Secret", testSecret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest once the database is up: %v %v", resp, err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	if srv.err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", srv.err)
	}
	logs := srv.logs.String()
	if !strings.Contains(logs, `"msg":"database ready"`) || !strings.Contains(logs, `"database":"postgres://`) {
		t.Errorf("the log does not say the database became ready, naming it:\n%s", logs)
	}
	if strings.Contains(logs, password) {
		t.Errorf("the database password appears in the log:\n%s", logs)
	}
}

// Past database_wait the ledger gives up: exit status 1, and an error naming the database
// (without its password) and the wait. With database_wait 0 it tries once.
func TestServeGivesUpAfterTheDatabaseWait(t *testing.T) {
	proxy, database := eventstoretest.PostgresProxy(t, eventstoretest.PostgresURL(t))
	database, password := withPassword(t, database)
	proxy.Stop()
	for _, c := range []struct {
		wait, want string
		retries    bool
	}{
		{"1s", "not ready after waiting 1s (database_wait, LEDGER_DATABASE_WAIT)", true},
		{"0", "connection refused", false},
	} {
		t.Run("database_wait="+c.wait, func(t *testing.T) {
			addr := freeAddr(t)
			srv := startWaiting(t, writeConfig(t, t.TempDir(), addr, database), addr, "LEDGER_DATABASE_WAIT="+c.wait)
			select {
			case <-srv.exited:
			case <-time.After(60 * time.Second):
				t.Fatalf("still running a minute after a %s wait:\n%s", c.wait, srv.logs)
			}
			var exit *exec.ExitError
			if !errors.As(srv.err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1", srv.err)
			}
			logs := srv.logs.String()
			lines := strings.Split(strings.TrimSpace(logs), "\n")
			last := lines[len(lines)-1]
			named := "leadledger: database postgres://" + proxy.Addr()
			if u, _ := url.Parse(database); u != nil {
				named = "leadledger: database postgres://" + u.User.Username() + ":xxxxx@" + proxy.Addr()
			}
			if !strings.HasPrefix(last, named) || !strings.Contains(last, "password=xxxxx") || !strings.Contains(last, c.want) {
				t.Errorf("last line %q, want it to start %q and say %q", last, named, c.want)
			}
			if retried := strings.Contains(logs, "database not ready; trying again"); retried != c.retries {
				t.Errorf("tried again: %v, want %v:\n%s", retried, c.retries, logs)
			}
			if strings.Contains(logs, password) {
				t.Errorf("the database password appears in the output:\n%s", logs)
			}
		})
	}
}

// PostgreSQL refusing the ledger's credentials is a configuration error, not a database still
// starting: the ledger exits at once, naming it, however long database_wait is.
func TestServeDoesNotWaitWhenCredentialsAreRefused(t *testing.T) {
	u, err := url.Parse(eventstoretest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("no_such_role")
	addr := freeAddr(t)
	started := time.Now()
	srv := startWaiting(t, writeConfig(t, t.TempDir(), addr, u.String()), addr, "LEDGER_DATABASE_WAIT=60s")
	select {
	case <-srv.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("still waiting 30 s after PostgreSQL refused the role:\n%s", srv.logs)
	}
	var exit *exec.ExitError
	if !errors.As(srv.err, &exit) || exit.ExitCode() != 1 || !strings.Contains(srv.logs.String(), `role "no_such_role" does not exist`) {
		t.Errorf("exit %v after %s, want status 1 naming the refused role:\n%s", srv.err, time.Since(started), srv.logs)
	}
	if strings.Contains(srv.logs.String(), "trying again") {
		t.Errorf("it tried again:\n%s", srv.logs)
	}
}
