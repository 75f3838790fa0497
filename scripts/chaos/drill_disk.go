package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// diskFull: the SQLite ledger's file size limit (RLIMIT_FSIZE, set on the running process with
// prlimit) is lowered to just above its files' sizes under load, so that its writes fail as on
// a full disk: ingest answers 503 (not 500, and no 200 that is not stored). Then the limit is
// lifted on the same process: appends succeed again without a restart, every acknowledged
// webhook is in the log, the lead view catches up, and `leadledger verify` passes afterwards.
func (e *env) diskFull() {
	path := filepath.Join(e.dir, "ledger.db")
	database := "sqlite:" + path
	addr := freeAddr()
	srv := e.serve("ledger", e.writeConfig("ledger", addr, database), addr)
	l := startLoad(srv.url)
	e.waitAcked(l, 300, 30*time.Second)

	pid := strconv.Itoa(srv.cmd.Process.Pid)
	limit := max(fileSize(path), fileSize(path+"-wal")) + 1<<20
	run(e.ctx, "prlimit", "--pid", pid, fmt.Sprintf("--fsize=%d:unlimited", limit))
	before := l.snapshot()
	refused := func() int { s := l.snapshot(); return s[503] + s[500] - before[503] - before[500] }
	if !e.poll(40*time.Second, func() bool { return refused() >= 50 || !srv.alive() }) {
		e.fail("appends never failed with the file size limit at %d bytes (answers %v)", limit, l.snapshot())
	}
	if !srv.alive() {
		abortf("serve died when its file size limit was reached: %v\n%s", srv.exitErr, tail(srv.logPath, 10))
	}
	e.sleep(5 * time.Second) // stay full a while: the lead view and the checkpointer fail too
	run(e.ctx, "prlimit", "--pid", pid, "--fsize=unlimited:unlimited")
	raised, n := time.Now(), l.ackedCount()
	if !e.poll(30*time.Second, func() bool { return l.ackedCount() > n+100 }) {
		e.fail("appends did not succeed again within 30 s of lifting the limit:\n%s", tail(srv.logPath, 5))
	}
	e.note("appends again %.1f s after", time.Since(raised).Seconds())
	acked := e.checkAnswers(l, srv)
	log := e.checkFound(srv.url, acked)
	e.checkCaughtUp(srv.url, 60*time.Second)
	if n, top := srv.errorCount(); n > 0 {
		e.note("log: %d ERROR lines, most %q", n, top)
	}

	srv.signal(syscall.SIGTERM)
	if !srv.wait(45*time.Second) || srv.exitErr != nil {
		e.fail("SIGTERM after the drill: %v", srv.exitErr)
		srv.kill()
	}
	cmd := exec.CommandContext(e.ctx, e.opt.bin, "verify")
	cmd.Env = append(os.Environ(), "LEDGER_DATABASE="+database)
	out, err := cmd.CombinedOutput()
	if want := fmt.Sprintf("ok: %d events", len(log)); err != nil || !strings.Contains(string(out), want) {
		e.fail("leadledger verify: %v, want %q:\n%s", err, want, out)
	} else {
		e.note("verify ok")
	}
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}
