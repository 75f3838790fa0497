package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// orderReceiver records every delivery: which event, of which lead, at which position.
type orderReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	arrivals []delivery
}

type delivery struct {
	ID       string `json:"id"`
	LeadID   string `json:"lead_id"`
	Position int64  `json:"position"`
}

func newOrderReceiver(t *testing.T) *orderReceiver {
	r := &orderReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var d delivery
		if err := json.NewDecoder(req.Body).Decode(&d); err != nil {
			t.Errorf("delivery body: %v", err)
		}
		time.Sleep(2 * time.Millisecond) // a little in flight at any time
		r.mu.Lock()
		r.arrivals = append(r.arrivals, d)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *orderReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrivals)
}

// outOfOrder checks the arrivals against the log: when an event of a lead first arrives, every
// earlier event of that lead must have arrived already (repeats are allowed: at-least-once).
// It returns the distinct events delivered and the first violation, if any.
func (r *orderReceiver) outOfOrder(byLead map[string][]int64) (distinct int, violation string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[int64]bool{}
	for _, d := range r.arrivals {
		if seen[d.Position] {
			continue
		}
		for _, p := range byLead[d.LeadID] {
			if p < d.Position && !seen[p] && violation == "" {
				violation = fmt.Sprintf("lead %s: position %d arrived before %d", d.LeadID, d.Position, p)
			}
		}
		seen[d.Position] = true
	}
	return len(seen), violation
}

// Two serve processes on one PostgreSQL database, load on both, a webhook sink: kill -9 the one
// holding the sink's cursor. The other takes over the cursor (and the lead view, if the dead
// one held it) within 10 s, as /v1/status shows; every acknowledged event is delivered, in
// order per lead, and the lead view catches up.
func TestFailoverAfterKill9(t *testing.T) {
	database := eventstoretest.URL(t, "postgres")
	dir := t.TempDir() // both processes share it: the master key file is made there once
	servers := make([]*server, 2)
	for i := range servers {
		addr := freeAddr(t)
		cfg := fmt.Sprintf(`listen: %s
database: "%s"
allow_private_sink_urls: true  # the receiver is on loopback
tokens:
  - {name: ops, role: operator, token_env: TEST_OPERATOR_TOKEN}
sources:
  - {id: leadflo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret_env: TEST_LEADFLO_SECRET}}
`, addr, database)
		path := filepath.Join(dir, fmt.Sprintf("ledger-%d.yaml", i))
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		servers[i] = start(t, path, addr)
		defer func() { _ = servers[i].cmd.Process.Kill(); _ = servers[i].cmd.Wait() }()
	}
	rcv := newOrderReceiver(t)
	servers[0].api(t, "POST", "/v1/sinks", `{"name":"crm","type":"webhook","url":"`+rcv.srv.URL+`","secret":"whsec_c2luay1zaWduaW5nLWtleS1mb3ItdGVzdHMtMzI=","start":"beginning"}`)
	loads := []*loader{startLoad(servers[0].url), startLoad(servers[1].url)}

	// Who holds the sink's cursor, once deliveries flow.
	var victim, survivor *server
	var victimName string
	for deadline := time.Now().Add(60 * time.Second); victim == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery, or no holder of the sink's cursor in /v1/status, after 60 s: %v", servers[0].api(t, "GET", "/v1/status", ""))
		}
		if rcv.count() < 200 {
			continue
		}
		st := servers[0].api(t, "GET", "/v1/status", "")
		leases, _ := st["leases"].([]any)
		if len(leases) != 1 {
			continue
		}
		victimName = leases[0].(map[string]any)["holder"].(string)
		for i, s := range servers {
			if s.api(t, "GET", "/v1/status", "")["process"] == victimName {
				victim, survivor = s, servers[1-i]
			}
		}
	}
	viewHolder := func(s *server) any {
		return s.api(t, "GET", "/v1/status", "")["projections"].([]any)[0].(map[string]any)["holder"]
	}
	viewWasVictims := viewHolder(survivor) == victimName
	survivorName := survivor.api(t, "GET", "/v1/status", "")["process"]

	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	killed := time.Now()
	for deadline := killed.Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st := survivor.api(t, "GET", "/v1/status", "")
		leases, _ := st["leases"].([]any)
		sinkTaken := len(leases) == 1 && leases[0].(map[string]any)["holder"] == survivorName
		if sinkTaken && (!viewWasVictims || viewHolder(survivor) == survivorName) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the survivor has not taken over 30 s after the kill: %v", st)
		}
	}
	took := time.Since(killed)
	if took > 10*time.Second {
		t.Errorf("the survivor took over %s after the kill, want within 10 s", took)
	}
	t.Logf("took over the sink's cursor (and the lead view: %v) %s after kill -9", viewWasVictims, took.Round(time.Millisecond))

	time.Sleep(time.Second) // load on the survivor alone for a while
	var acked []string
	for _, l := range loads {
		acked = append(acked, l.finish()...)
	}

	// Every acknowledged event is in the log, and delivered in order per lead.
	byLead, stored := map[string][]int64{}, map[string]bool{}
	for after := int64(0); ; {
		page := survivor.api(t, "GET", fmt.Sprintf("/v1/events?after=%d&limit=1000", after), "")
		events := page["events"].([]any)
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			ev := e.(map[string]any)
			stored[ev["id"].(string)] = true
			byLead[ev["lead_id"].(string)] = append(byLead[ev["lead_id"].(string)], int64(ev["position"].(float64)))
		}
		after = int64(page["next_after"].(float64))
	}
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("event %s was acknowledged and is not in the log", id)
		}
	}
	for _, positions := range byLead {
		sort.Slice(positions, func(i, j int) bool { return positions[i] < positions[j] })
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		distinct, violation := rcv.outOfOrder(byLead)
		if violation != "" {
			t.Fatalf("delivered out of order: %s", violation)
		}
		if distinct == len(stored) {
			t.Logf("%d events acknowledged, %d stored, all delivered in order per lead (%d deliveries)", len(acked), len(stored), rcv.count())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered 60 s after the load stopped", distinct, len(stored))
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		view := survivor.api(t, "GET", "/v1/status", "")["projections"].([]any)[0].(map[string]any)
		if view["lag"].(float64) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lead view has not caught up through the survivor: %v", view)
		}
	}
}
