package main

import (
	"syscall"
	"time"
)

// kill9: kill -9 under load, start again on the same database: every acknowledged webhook is
// in the log, and the lead view catches up.
func (e *env) kill9(database string) {
	cfg, addr, srv, l := e.underLoad(database)
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
	cfg, addr, srv, l := e.underLoad(database)
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

// underLoad starts a ledger on database and load on it, and returns once 1,000 webhooks are
// acknowledged and a second more has passed: group commits, the lead view and the
// checkpointer are all busy when the fault comes.
func (e *env) underLoad(database string) (cfg, addr string, srv *ledger, l *load) {
	addr = freeAddr()
	cfg = e.writeConfig("ledger", addr, database)
	srv = e.serve("ledger", cfg, addr)
	l = startLoad(srv.url)
	e.waitAcked(l, 1000, 40*time.Second)
	e.sleep(time.Second)
	return cfg, addr, srv, l
}
