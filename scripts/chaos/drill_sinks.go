package main

import (
	"time"
)

// sinkOutage: a webhook sink's receiver answers 503 for 10 s under load, then 204 again: every
// acknowledged event is delivered, each lead's events in log order (some sent again: at least
// once).
func (e *env) sinkOutage(database string) {
	addr := freeAddr()
	srv := e.serve("ledger", e.writeConfig("ledger", addr, database), addr)
	receiver := e.startReceiver()
	sink := createSink(srv.url, receiver)
	l := startLoad(srv.url)
	e.waitAcked(l, 500, 30*time.Second)
	setAnswer(receiver, 503)
	e.sleep(10 * time.Second)
	if s := sinkState(srv.url, sink); s.Status == "failing" {
		e.note("sink failing (lag %d)", s.Lag)
	} else {
		e.fail("at the end of the receiver's outage the sink is not failing: %s", s)
	}
	setAnswer(receiver, 204)
	back := time.Now()
	e.sleep(3 * time.Second)
	acked := e.checkAnswers(l, srv)
	log := e.checkFound(srv.url, acked)
	if e.checkDelivered(receiver, acked, log, 90*time.Second, back, "the receiver's return"); e.res.undelivered > 0 {
		e.fail("the sink: %s", sinkState(srv.url, sink))
	}
}

// failover: two serve processes on one PostgreSQL database, a webhook sink, load on both; the
// process holding the sink's lease is killed with kill -9. The survivor takes the lease over
// and delivery resumes within 10 s; every acknowledged event is delivered, each lead's in log
// order, and the lead view catches up through the survivor.
func (e *env) failover() {
	database := e.sharedDB("failover")
	receiver := e.startReceiver()
	addrA, addrB := freeAddr(), freeAddr()
	a := e.serve("a", e.writeConfig("a", addrA, database), addrA)
	sink := createSink(a.url, receiver)
	// Alone on the database, a takes the lease: its owner id tells its leases from b's.
	var ownerA string
	if !e.poll(15*time.Second, func() bool { ownerA = leaseOwner(database, sink); return ownerA != "" }) {
		abortf("nobody took the new sink's lease in 15 s: %s", sinkState(a.url, sink))
	}
	b := e.serve("b", e.writeConfig("b", addrB, database), addrB)
	l := startLoad(a.url, b.url)
	e.waitAcked(l, 1000, 40*time.Second)
	if !e.poll(20*time.Second, func() bool { return deliveredCount(receiver) > 0 }) {
		abortf("nothing delivered: %s", sinkState(a.url, sink))
	}
	holder := leaseOwner(database, sink)
	victim, survivor := a, b
	if holder != ownerA {
		victim, survivor = b, a
		e.note("(the lease had moved to the second process)")
	}
	killed := time.Now()
	victim.kill()
	e.sleep(300 * time.Millisecond) // what was in flight at the kill has landed by now
	before := deliveredCount(receiver)
	if !e.poll(30*time.Second, func() bool { return deliveredCount(receiver) > before }) {
		e.fail("no delivery in 30 s after the kill: %s", sinkState(survivor.url, sink))
	}
	if owner := leaseOwner(database, sink); owner == holder || owner == "" {
		e.fail("the lease is still %q after the kill", owner)
	}
	e.sleep(2 * time.Second)
	acked := e.checkAnswers(l, a, b)
	log := e.checkFound(survivor.url, acked)
	e.checkCaughtUp(survivor.url, 60*time.Second)
	got := e.checkDelivered(receiver, acked, log, 60*time.Second, killed, "the kill")
	resumed := time.Duration(-1)
	for _, d := range got {
		if at := time.Unix(0, d.At); at.After(killed.Add(300 * time.Millisecond)) {
			resumed = at.Sub(killed)
			break
		}
	}
	e.note("resumed %.1f s after the kill", resumed.Seconds())
	if resumed < 0 || resumed > 10*time.Second {
		e.fail("delivery resumed %.1f s after the kill, want at most 10 s", resumed.Seconds())
	}
}
