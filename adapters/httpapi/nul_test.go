package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// A JSON string may carry a NUL (\u0000), which PostgreSQL's text cannot hold. On both
// databases: in a field the vendor documents as a time it is a 400 naming the field, with the
// body kept as evidence; in a free-text field (an email, a name) the webhook is stored byte for
// byte, reaches the lead view with its exact value, and can be delivered onwards.
func TestNulCharacters(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			ctx := context.Background()
			leadflo := header("X-Webhook-Secret", leadfloSecret)
			wc := "/v1/ingest/whatconverts?token=" + wcToken
			for _, c := range []struct{ source, path, body, field string }{
				{"leadflo", "/v1/ingest/leadflo", `{"event":"visitor_created","timestamp":"2026-01-01T10:00:00Z\u0000","data":{"visitor":{"id":"v1"}}}`, "timestamp"},
				{"whatconverts", wc, `{"trigger":"new","lead_id":1,"date_created":"2026-01-01\u0000"}`, "date_created"},
				{"whatconverts", wc, `{"trigger":"update","lead_id":1,"last_updated":"\u0000"}`, "last_updated"},
			} {
				before, _ := l.store.CountRejections(ctx, c.source)
				var auth func(*http.Request)
				if c.source == "leadflo" {
					auth = leadflo
				}
				status, reply := l.post(t, c.path, []byte(c.body), auth)
				want := "Invalid field " + c.field + ": a time must not contain a NUL character"
				if status != http.StatusBadRequest || reply["message"] != want {
					t.Errorf("NUL in %s: %d %v, want 400 %q", c.field, status, reply, want)
				}
				if after, _ := l.store.CountRejections(ctx, c.source); after != before+1 {
					t.Errorf("NUL in %s: the body was not kept as a rejection", c.field)
				}
			}
			body := `{"event":"visitor_created","timestamp":"2026-01-01T10:00:00Z","data":{"visitor":` +
				`{"id":"v2","name":"Nul\u0000Name","email":"nul\u0000@example.com","city":"\u0000"}}}`
			status, reply := l.post(t, "/v1/ingest/leadflo", []byte(body), leadflo)
			if status != http.StatusOK {
				t.Fatalf("NUL in free text: %d %v, want 200", status, reply)
			}
			events := l.events(t)
			if len(events) != 1 || events[0]["raw"] != body {
				t.Fatalf("stored events = %v, want the one body byte for byte", events)
			}
			path := fmt.Sprintf("/v1/leads/%s?min_position=%v", reply["lead_id"], reply["position"])
			status, lead := l.get(t, path)
			if status != http.StatusOK || lead["email"] != "nul\x00@example.com" || lead["name"] != "Nul\x00Name" {
				t.Fatalf("lead view: %d %v, want the exact email and name", status, lead)
			}
			envelopes, err := l.store.ReadEnvelopes(ctx, 0, 10, eventstore.Filter{})
			if err != nil || len(envelopes) != 1 {
				t.Fatalf("envelopes for sinks: %v, %v", envelopes, err)
			}
			status, history := l.get(t, fmt.Sprintf("/v1/leads/%s/events", reply["lead_id"]))
			if status != http.StatusOK {
				t.Fatalf("history: %d %v", status, history)
			}
			if e := history["events"].([]any)[0].(map[string]any); e["applied"] != true || e["raw"] != body {
				t.Errorf("history = %v, want the event applied, its raw body as sent", e)
			}
		})
	}
}
