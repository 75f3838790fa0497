package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// PostgreSQL goes away for a few seconds while vendors keep sending and a sink delivers. Every
// webhook gets either a 200 that is in the log or a 503 with Retry-After, never a 500; /readyz
// goes red and green again; ingest, the lead view and the sink recover by themselves, and
// every acknowledged event is in the view's reach and delivered.
func TestDatabaseOutageUnderLoad(t *testing.T) {
	proxy, databaseURL := eventstoretest.PostgresProxy(t, eventstoretest.PostgresURL(t))
	l := newLedgerWith(t, databaseURL, nil)
	var delivered sync.Map
	receiver := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		delivered.Store(r.Header.Get("webhook-id"), true)
	}))
	defer receiver.Close()
	l.createWebhookSink(t, receiver.URL)

	var (
		mu      sync.Mutex
		acked   []string
		refused atomic.Int64
		stop    = make(chan struct{})
		senders sync.WaitGroup
		next    atomic.Int64
	)
	for range 8 {
		senders.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, retryAfter, id := l.postLead(t, int(next.Add(1)))
				switch {
				case status == http.StatusOK:
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				case status == http.StatusServiceUnavailable && retryAfter != "":
					refused.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					t.Errorf("during the load: %d (Retry-After %q), want 200, or 503 with Retry-After", status, retryAfter)
				}
			}
		})
	}
	ready := func() int {
		resp, err := http.Get(l.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	time.Sleep(500 * time.Millisecond)
	proxy.Stop()
	time.Sleep(200 * time.Millisecond)
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", got)
	}
	time.Sleep(3 * time.Second)
	proxy.Start()
	for deadline := time.Now().Add(20 * time.Second); ready() != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("/readyz is not green 20 s after the database came back")
		}
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		after := len(acked)
		mu.Unlock()
		if after > before+50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not recover: %d webhooks stored in 20 s after the database came back", after-before)
		}
	}
	close(stop)
	senders.Wait()
	if refused.Load() == 0 {
		t.Fatal("no webhook was refused: the outage did not happen")
	}

	stored := map[string]bool{}
	for _, e := range l.events(t) {
		stored[e["id"].(string)] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("event %s was acknowledged and is not in the log", id)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		missing := 0
		for _, id := range acked {
			if _, ok := delivered.Load(id); !ok {
				missing++
			}
		}
		_, st := l.get(t, "/v1/status")
		lag := st["projections"].([]any)[0].(map[string]any)["lag"]
		if missing == 0 && lag == 0.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the outage: %d acknowledged events not delivered, lead view lag %v", missing, lag)
		}
	}
	t.Logf("%d webhooks acknowledged, %d refused with 503 during the outage; all stored, folded and delivered", len(acked), refused.Load())
}
