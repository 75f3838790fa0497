package main

import (
	"syscall"
	"time"
)

// kill9: kill -9 under load, start again on the same database: every acknowledged webhook is
// in the log, and the lead view catches up.
func (e *env) kill9(database string) {
	addr := freeAddr()
	cfg := e.writeConfig("ledger", addr, database)
	srv := e.serve("ledger", cfg, addr)
	l := startLoad(srv.url)
	e.waitAcked(l, 1000, 40*time.Second)
	e.sleep(time.Second) // in full flow: group commits, the lead view and the checkpointer busy
	srv.signal(syscall.SIGKILL)
	srv.wait(10 * time.Second)
	acked := e.checkAnswers(l, srv)
	srv = e.serve("ledger", cfg, addr)
	e.checkFound(srv.url, acked)
	e.checkCaughtUp(srv.url, 30*time.Second)
}

// sigterm: SIGTERM under load: the server drains and exits 0, and every acknowledged webhook
// is in the log when it is started again.
func (e *env) sigterm(database string) {
	addr := freeAddr()
	cfg := e.writeConfig("ledger", addr, database)
	srv := e.serve("ledger", cfg, addr)
	l := startLoad(srv.url)
	e.waitAcked(l, 1000, 40*time.Second)
	e.sleep(time.Second) // in full flow: group commits, the lead view and the checkpointer busy
	signalled := time.Now()
	srv.signal(syscall.SIGTERM)
	if !srv.wait(45 * time.Second) {
		e.fail("still running 45 s after SIGTERM")
		srv.kill()
	} else if srv.exitErr != nil {
		e.fail("exit after SIGTERM: %v, want status 0:\n%s", srv.exitErr, tail(srv.logPath, 5))
	} else {
		e.note("exit 0 in %.1f s", time.Since(signalled).Seconds())
	}
	acked := e.checkAnswers(l, srv)
	srv = e.serve("ledger", cfg, addr)
	e.checkFound(srv.url, acked)
}
