package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

func (l *ledger) erase(t *testing.T, token, leadID string) (int, map[string]any) {
	t.Helper()
	return l.post(t, "/v1/leads/"+leadID+"/erase", nil, func(r *http.Request) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	})
}

// An operator erases a lead: its events stay in the log, read back erased, with their
// hashes and proofs; a LeadErased event names the operator; the lead view and search forget
// the person; the other lead is untouched; auditors cannot erase.
func TestEraseALeadThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			wcURL := "/v1/ingest/whatconverts?token=" + wcToken
			for _, body := range [][]byte{
				wcBody("new", 41, "2026-01-01T10:00:00Z", "In Progress"),
				wcBody("update", 41, "2026-01-02T10:00:00Z", "Completed"),
				[]byte(`{"trigger":"new","lead_id":42,"lead_type":"Chat","contact_name":"Kept Person","contact_email_address":"kept@example.com"}`),
			} {
				if status, reply := l.post(t, wcURL, body, nil); status != 200 {
					t.Fatalf("ingest: %d %v", status, reply)
				}
			}
			_, events := l.get(t, "/v1/events")
			gone := events["events"].([]any)[0].(map[string]any)["lead_id"].(string)
			kept := events["events"].([]any)[2].(map[string]any)["lead_id"].(string)

			for _, c := range []struct {
				token string
				lead  string
				want  int
			}{{"", gone, 401}, {auditorToken, gone, 403}, {operatorToken, "not-a-uuid", 404}, {operatorToken, "0b8e7f4a-2b7a-4c1e-9a55-3d0b8e7f4a21", 404}} {
				if status, reply := l.erase(t, c.token, c.lead); status != c.want || reply["message"] == "" {
					t.Errorf("erase %s with %q: %d %v, want %d", c.lead, c.token, status, reply, c.want)
				}
			}
			status, erased := l.erase(t, operatorToken, gone)
			if status != 200 || erased["erased_by"] != "ops" || erased["already_erased"] != false || erased["lead_id"] != gone {
				t.Fatalf("erase: %d %v", status, erased)
			}
			if status, again := l.erase(t, operatorToken, gone); status != 200 || again["already_erased"] != true || again["event_id"] != erased["event_id"] {
				t.Errorf("erase again: %d %v", status, again)
			}

			status, history := l.get(t, fmt.Sprintf("/v1/leads/%s/events?min_position=%d", gone, int64(erased["position"].(float64))))
			if status != 200 {
				t.Fatalf("history: %d %v", status, history)
			}
			list := history["events"].([]any)
			if len(list) != 3 {
				t.Fatalf("history of the erased lead: %d events, want its 2 and the erasure", len(list))
			}
			for _, e := range list[:2] {
				ev := e.(map[string]any)
				if ev["erased"] != true || ev["raw"] != "" || ev["skip_reason"] != "erased" && ev["applied"] != true || len(ev["raw_sha256"].(string)) != 64 {
					t.Errorf("erased event: %v", ev)
				}
			}
			if last := list[2].(map[string]any); last["type"] != "LeadErased" || !strings.Contains(last["raw"].(string), `"erased_by":"ops"`) {
				t.Errorf("the erasure event: %v", last)
			}
			page := fmt.Sprint(history)
			for _, trace := range []string{"Jeremy", "whatconverts.com"} {
				if strings.Contains(strings.ToLower(page), strings.ToLower(trace)) {
					t.Errorf("the erased lead's history still holds %q", trace)
				}
			}

			if status, lead := l.get(t, "/v1/leads/"+gone); status != 404 {
				t.Errorf("GET the erased lead: %d %v, want 404", status, lead)
			}
			if status, found := l.get(t, "/v1/leads?email="+url.QueryEscape("hello@whatconverts.com")); status != 200 || len(found["leads"].([]any)) != 0 {
				t.Errorf("search by the erased email: %d %v", status, found)
			}
			if status, lead := l.get(t, "/v1/leads/"+kept); status != 200 || lead["name"] != "Kept Person" {
				t.Errorf("the other lead: %d %v", status, lead)
			}

			// The chain and the proofs still hold: an erased event's inclusion proof is served.
			if _, err := l.checkpoints.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			first := list[0].(map[string]any)["id"].(string)
			if status, proof := l.get(t, "/v1/events/"+first+"/proof"); status != 200 || proof["leaf_index"] != float64(0) {
				t.Errorf("proof of an erased event: %d %v", status, proof)
			}
		})
	}
}
