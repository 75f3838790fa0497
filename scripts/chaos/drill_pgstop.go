package main

import (
	"net/http"
	"sync"
	"time"
)

// pgStop: a private PostgreSQL is stopped for 10 s under load, then started again, while serve
// runs on: ingest answers 503 with Retry-After meanwhile, /readyz goes 503 and back to 200
// without a restart, and afterwards every acknowledged webhook is in the log, the lead view
// catches up and a webhook sink gets every one of them, each lead's in order.
func (e *env) pgStop() {
	c := e.newCluster()
	database := e.createDB(c.url("postgres"), "chaos")
	addr := freeAddr()
	srv := e.serve("ledger", e.writeConfig("ledger", addr, database), addr)
	receiver := e.startReceiver()
	createSink(srv.url, receiver)
	l := startLoad(srv.url)
	e.waitAcked(l, 500, 30*time.Second)

	probe := startProbe(srv.url + "/readyz")
	before := l.snapshot()
	c.stop()
	e.sleep(10 * time.Second)
	during := l.snapshot()
	c.start()
	restarted := time.Now()
	if !e.poll(30*time.Second, func() bool { return httpStatus(srv.url+"/readyz") == 200 }) {
		e.fail("/readyz not 200 within 30 s of PostgreSQL's start")
	}
	e.note("ready %.1f s after", time.Since(restarted).Seconds())
	e.waitAcked(l, l.ackedCount()+300, 30*time.Second)
	acked := e.checkAnswers(l, srv)
	if !srv.alive() {
		abortf("serve exited during the outage:\n%s", tail(srv.logPath, 10))
	}
	if refused := during[503] - before[503]; refused == 0 {
		e.fail("no webhook was answered 503 while PostgreSQL was stopped (answers during the outage: %v)", during)
	}
	if codes := probe.finish(); !codes[503] || !codes[200] {
		e.fail("/readyz answered %v during and after the outage; want 503, then 200", codes)
	}
	log := e.checkFound(srv.url, acked)
	e.checkCaughtUp(srv.url, 60*time.Second)
	if n, top := srv.errorCount(); n > 0 {
		e.note("log: %d ERROR lines, most %q", n, top)
	}
	e.checkDelivered(receiver, acked, log, 60*time.Second, restarted, "the restart")
}

// probe asks a URL every 200 ms and keeps which statuses it answered.
type probe struct {
	mu    sync.Mutex
	codes map[int]bool
	stop  chan struct{}
	done  chan struct{}
}

func startProbe(url string) *probe {
	p := &probe{codes: map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 8 * time.Second}
	go func() {
		defer close(p.done)
		for {
			code := 0
			if resp, err := client.Get(url); err == nil {
				resp.Body.Close()
				code = resp.StatusCode
			}
			p.mu.Lock()
			p.codes[code] = true
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *probe) finish() map[int]bool {
	close(p.stop)
	<-p.done
	return p.codes
}
