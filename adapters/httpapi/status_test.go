package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// /v1/status says which process answered, and which holds the lead view and each sink's
// cursor: here the one process, once it has taken the leases.
func TestStatusShowsWhoHoldsWhat(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
			defer receiver.Close()
			sinkID := l.createWebhookSink(t, receiver.URL)
			me := l.store.Instance()

			var st map[string]any
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var status int
				status, st = l.get(t, "/v1/status")
				if status != http.StatusOK {
					t.Fatalf("status: %d %v", status, st)
				}
				view := st["projections"].([]any)[0].(map[string]any)
				leases := st["leases"].([]any)
				if view["holder"] == me && len(leases) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the lead view's and the sink's leases are not shown as held by %q: %v", me, st)
				}
			}
			if st["process"] != me {
				t.Errorf("process = %v, want %q", st["process"], me)
			}
			lease := st["leases"].([]any)[0].(map[string]any)
			until, err := time.Parse(time.RFC3339Nano, lease["lease_until"].(string))
			if lease["kind"] != "sink" || lease["id"] != sinkID || lease["sink_id"] != sinkID || lease["sink_name"] != "hook" ||
				lease["holder"] != me || err != nil || until.Before(time.Now()) {
				t.Errorf("sink lease = %v, want sink %s held by %s until a time to come", lease, sinkID, me)
			}
		})
	}
}
