package natssink

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// natsServer is a nats-server with JetStream that a test started on a port of its own.
type natsServer struct {
	t      *testing.T
	port   int
	store  string
	cmd    *exec.Cmd
	exited chan error // receives once the running server's process has ended
	log    *syncBuffer
}

// URL is the server's client URL.
func (s *natsServer) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// startNATS starts nats-server -js on a free loopback port with its store in a temporary
// folder, waits until JetStream answers, and kills the server when the test ends. Without the
// binary the test fails rather than skips: a skipped sink test would pass CI untested.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	s := &natsServer{t: t, port: freePort(t), store: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func serverBinary(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("nats-server"); err == nil {
		return path
	}
	const debian = "/usr/sbin/nats-server" // not on every user's PATH
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	t.Fatal("nats-server is not installed: install the Debian package nats-server (apt-get install nats-server)")
	return ""
}

// start runs the server; after stop, again on the same port with the same store.
func (s *natsServer) start() {
	s.t.Helper()
	s.log = &syncBuffer{}
	s.cmd = exec.Command(serverBinary(s.t), "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-sd", s.store)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	s.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(s.cmd, s.exited)
	deadline := time.Now().Add(10 * time.Second)
	for !s.ready() {
		select {
		case err := <-s.exited:
			s.cmd = nil
			s.t.Fatalf("nats-server exited (%v):\n%s", err, s.log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server's JetStream did not answer in 10s:\n%s", s.log.String())
		}
	}
}

// ready says whether the server takes a connection and its JetStream answers.
func (s *natsServer) ready() bool {
	nc, err := nats.Connect(s.URL(), nats.Timeout(time.Second))
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(time.Second))
	if err != nil {
		return false
	}
	_, err = js.AccountInfo()
	return err == nil
}

// pause stops the server's process (SIGSTOP) until stop or the test's end: its connections stay
// open, and nothing answers on them.
func (s *natsServer) pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("pause nats-server: %v", err)
	}
	// The signal is delivered asynchronously: until the process shows as stopped ("T" in
	// /proc/<pid>/stat) it may still answer, as it did once under load.
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			s.t.Fatalf("pause nats-server: %v", err)
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && bytes.HasPrefix(b[i+1:], []byte(" T")) {
			return
		}
	}
	s.t.Fatal("pause nats-server: the process did not stop within 5s")
}

// stop kills the server and waits for its process to end. Stopping twice is fine.
func (s *natsServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// freePort is a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is the server's output, written by exec's copying goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
