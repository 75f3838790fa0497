package sinks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/adapters/standardwebhooks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// ledger is a real store with the sinks' registry and a running delivery engine.
type ledger struct {
	store    *eventstore.Store
	registry *sinks.Registry
	stop     func()
}

// fastConfig retries quickly so failure cases finish in a test's time.
func fastConfig() sinks.Config {
	return sinks.Config{PollInterval: 20 * time.Millisecond, LeaseTTL: time.Second, FailingAfter: 3,
		Backoff: sinks.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond, MaxAttempts: 1000}}
}

// openLedger's sinks may reach private addresses: the tests' receivers are on loopback.
func openLedger(t *testing.T, url string, cfg sinks.Config) *ledger {
	t.Helper()
	return openLedgerWith(t, url, cfg, sinks.AllowPrivateURLs(true))
}

// openLedgerWith is openLedger with the registry's options; without AllowPrivateURLs(true) the
// address guard is on.
func openLedgerWith(t *testing.T, url string, cfg sinks.Config, opts ...sinks.RegistryOption) *ledger {
	t.Helper()
	ctx := context.Background()
	store, err := eventstore.Open(ctx, eventstore.Config{URL: url})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	registry, err := sinks.NewRegistry(ctx, store, opts...)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	l := &ledger{store: store, registry: registry}
	l.stop = l.startEngine(t, cfg)
	t.Cleanup(func() { l.stop(); _ = store.Close() })
	return l
}

// startEngine runs a delivery engine (a process's worth) and returns what stops it.
func (l *ledger) startEngine(t *testing.T, cfg sinks.Config) func() {
	m, err := sinks.NewManager(cfg, l.store, l.registry)
	if err != nil {
		t.Fatalf("manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

// appendEvents appends n events spread over the given number of leads, returning them stored.
func (l *ledger) appendEvents(t *testing.T, source string, n, leads int) []domain.Event {
	t.Helper()
	return l.appendEventsAt(t, source, n, leads, time.Now)
}

// appendEventsAt is appendEvents with the time each event is received.
func (l *ledger) appendEventsAt(t *testing.T, source string, n, leads int, now func() time.Time) []domain.Event {
	t.Helper()
	var out []domain.Event
	for i := range n {
		key := fmt.Sprintf("visitor-%d", i%leads)
		p := domain.Parsed{Type: domain.LeadCaptured, LeadKey: key, Data: domain.LeadData{ExternalID: key, Name: fmt.Sprint("Lead ", i)}}
		if i >= leads {
			p.Type = domain.ConversationEnded
		}
		stored, err := l.store.Append(context.Background(), domain.NewEvent(source, "leadflo", p, []byte(fmt.Sprintf(`{"n":%d}`, i)), now()))
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		out = append(out, stored...)
	}
	return out
}

func (l *ledger) addSink(t *testing.T, url, start string, f sinks.Filter) sinks.Sink {
	t.Helper()
	s, err := l.registry.Create(context.Background(), sinks.NewSink{Name: "test", Type: "webhook", URL: url, Secret: secret, Filter: f, Start: start})
	if err != nil {
		t.Fatalf("create sink: %v", err)
	}
	return s
}

func (l *ledger) sink(t *testing.T, id uuid.UUID) sinks.Sink {
	t.Helper()
	s, err := l.registry.Sink(context.Background(), id)
	if err != nil {
		t.Fatalf("read sink: %v", err)
	}
	return s
}

// delivery is one request a receiver got.
type delivery struct {
	webhookID string
	body      struct {
		ID       uuid.UUID `json:"id"`
		Position int64     `json:"position"`
		LeadID   uuid.UUID `json:"lead_id"`
		Type     string    `json:"type"`
		Source   string    `json:"source"`
	}
	status int
	at     time.Time
}

// receiver is a real HTTP server on loopback that checks every signature and answers with
// whatever answer returns.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	got     []delivery
	answer  func(n int, d delivery) (status int, header http.Header)
	arrived int           // requests that reached the handler
	holdAt  int           // requests past this many wait on hold
	hold    chan struct{} // nil: nothing waits
}

func newReceiver(t *testing.T, answer func(n int, d delivery) (int, http.Header)) *receiver {
	r := &receiver{t: t, answer: answer}
	key, _ := standardwebhooks.DecodeSecret(secret)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.arrived++
		hold := r.hold
		if r.arrived <= r.holdAt {
			hold = nil
		}
		r.mu.Unlock()
		if hold != nil {
			<-hold
		}
		body, _ := io.ReadAll(req.Body)
		if !standardwebhooks.Verify([][]byte{key}, req.Header, body, time.Now()) {
			t.Errorf("delivery with a bad signature: %s", body)
		}
		var d delivery
		d.webhookID, d.at = req.Header.Get("webhook-id"), time.Now()
		if err := json.Unmarshal(body, &d.body); err != nil {
			t.Errorf("delivery body %s: %v", body, err)
		}
		r.mu.Lock()
		n := len(r.got)
		status, header := http.StatusOK, http.Header(nil)
		if r.answer != nil {
			status, header = r.answer(n, d)
		}
		d.status = status
		r.got = append(r.got, d)
		r.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// holdAfter makes every request after the first n wait, unanswered, until release is called
// (at the latest when the test ends): a stop then lands mid-delivery however fast or slow the
// machine is.
func (r *receiver) holdAfter(n int) (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hold := make(chan struct{})
	r.hold, r.holdAt = hold, n
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	r.t.Cleanup(release) // before the server's Close, which waits for its handlers
	return release
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// acked returns the acknowledged deliveries, in the order they arrived.
func (r *receiver) acked() []delivery {
	var out []delivery
	for _, d := range r.deliveries() {
		if d.status >= 200 && d.status < 300 {
			out = append(out, d)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stopped waits until no stream delivers from a cursor (a sink's live delivery, or a replay's,
// named by its table, "sinks" or "sink_replays") and none will: absence proved by what the
// engine does, not by waiting a while. A stream hands its lease back only once its requests
// are done. The engine then reconciles in passes, one at a time, each listing the cursors
// before claiming any; so a witness sink added after another witness was claimed is claimed by
// a later pass, which means the pass that claimed the first, begun after the hand-back, had
// finished, and would have claimed the cursor again had it still been runnable.
func (l *ledger) stopped(t *testing.T, table string, id uuid.UUID) {
	t.Helper()
	released := func() bool { return l.lease(t, table, id) == "" }
	waitFor(t, "the cursor's lease handed back", 20*time.Second, released)
	for range 2 {
		w := l.addSink(t, "http://127.0.0.1:9/witness", "now", sinks.Filter{Sources: []string{"no-such-source"}})
		waitFor(t, "a reconcile pass to claim a witness sink", 20*time.Second, func() bool { return l.lease(t, "sinks", w.ID) != "" })
		if err := l.registry.Delete(context.Background(), w.ID); err != nil {
			t.Fatalf("delete witness sink: %v", err)
		}
	}
	if !released() {
		t.Fatalf("the engine claimed the cursor again: it still counts as runnable")
	}
}

// lease is the owner of a cursor's live lease, "" when nobody holds it.
func (l *ledger) lease(t *testing.T, table string, id uuid.UUID) string {
	t.Helper()
	var owner string
	var until int64
	err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT lease_owner, lease_until FROM `+table+` WHERE id = ?`), id.String()).Scan(&owner, &until)
	if err != nil {
		t.Fatalf("read the lease of %s %s: %v", table, id, err)
	}
	if until == 0 {
		return ""
	}
	return owner
}

// only keeps the deliveries of the given events: those of one cursor, when a replay and live
// delivery (each in order per lead, but not with each other) share a receiver.
func only(ds []delivery, events []domain.Event) []delivery {
	ids := map[uuid.UUID]bool{}
	for _, e := range events {
		ids[e.ID] = true
	}
	var out []delivery
	for _, d := range ds {
		if ids[d.body.ID] {
			out = append(out, d)
		}
	}
	return out
}

// checkDelivered asserts that the acknowledged deliveries are exactly the events, each at
// least once, with webhook-id the event id, in position order per lead.
func checkDelivered(t *testing.T, acked []delivery, events []domain.Event) {
	t.Helper()
	want := map[uuid.UUID]domain.Event{}
	for _, e := range events {
		want[e.ID] = e
	}
	seen := map[uuid.UUID]bool{}
	lastOfLead := map[uuid.UUID]int64{}
	for _, d := range acked {
		e, ok := want[d.body.ID]
		if !ok {
			t.Errorf("delivered event %s (position %d) was not expected", d.body.ID, d.body.Position)
			continue
		}
		if d.webhookID != e.ID.String() || d.body.Position != e.Position || d.body.LeadID != e.LeadID {
			t.Errorf("delivery of %s: webhook-id %s, position %d, lead %s; want the event's own", e.ID, d.webhookID, d.body.Position, d.body.LeadID)
		}
		if !seen[e.ID] && e.Position < lastOfLead[e.LeadID] {
			t.Errorf("lead %s: position %d delivered after %d", e.LeadID, e.Position, lastOfLead[e.LeadID])
		}
		seen[e.ID] = true
		lastOfLead[e.LeadID] = max(lastOfLead[e.LeadID], e.Position)
	}
	for id, e := range want {
		if !seen[id] {
			t.Errorf("event %s (position %d) was never acknowledged", id, e.Position)
		}
	}
}

func forEachBackend(t *testing.T, test func(t *testing.T, url string)) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) { test(t, eventstoretest.URL(t, backend)) })
	}
}
