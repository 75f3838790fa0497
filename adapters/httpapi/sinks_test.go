package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

const (
	sinkSecret   = "whsec_c2luay1zaWduaW5nLWtleS1mb3ItdGVzdHMtMzI="
	sinkURLToken = "s3cret-token-in-the-sink-url"
)

func (l *ledger) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, l.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// TestSinksThroughTheAPI adds a webhook sink through the admin API and follows a vendor's
// webhook to it: signed, with the contract's body; then pause, resume, a replay, the attempts
// and delete, with the roles and the errors of each call.
func TestSinksThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			key, _ := standardwebhooks.DecodeSecret(sinkSecret)
			var mu sync.Mutex
			var got []map[string]any
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if !standardwebhooks.Verify([][]byte{key}, r.Header, body, time.Now()) {
					t.Errorf("delivery not signed with the sink's secret")
				}
				var b map[string]any
				_ = json.Unmarshal(body, &b)
				if r.Header.Get("webhook-id") != b["id"] {
					t.Errorf("webhook-id %q is not the event id %v", r.Header.Get("webhook-id"), b["id"])
				}
				mu.Lock()
				got = append(got, b)
				mu.Unlock()
			}))
			defer rcv.Close()
			received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

			create := `{"name":"crm-x","type":"webhook","url":"` + rcv.URL + `/hook?token=` + sinkURLToken + `","secret":"` + sinkSecret + `","start":"beginning"}`
			if status, _ := l.call(t, "POST", "/v1/sinks", "", create); status != 401 {
				t.Errorf("create without a token: %d, want 401", status)
			}
			if status, _ := l.call(t, "POST", "/v1/sinks", auditorToken, create); status != 403 {
				t.Errorf("create with an auditor token: %d, want 403", status)
			}
			for body, want := range map[string]string{
				`{"name":"x","type":"webhook","secret":"` + sinkSecret + `"}`:                                       "Missing required field: url",
				`{"name":"x","type":"webhook","url":"ftp://x","secret":"` + sinkSecret + `"}`:                       "Invalid url",
				`{"name":"x","type":"webhook","url":"http://x","secret":"plain"}`:                                   "Invalid secret",
				`{"name":"x","type":"zapier","url":"http://x","secret":"` + sinkSecret + `"}`:                       "Unsupported sink type",
				`{"name":"x","type":"hubspot","url":"http://x","secret":"` + sinkSecret + `"}`:                      "Invalid field: a hubspot sink takes its url and credentials in config",
				`{"name":"x","type":"hubspot"}`:                                                                     "Missing required field: config",
				`{"name":"x","type":"hubspot","config":{"base_url":"http://x"}}`:                                    "Missing required field: config.token",
				`{"name":"x","type":"hubspot","config":{"token":"t","tokn":"t"}}`:                                   "Invalid config: unknown field",
				`{"name":"x","type":"hubspot","config":{"token":"t"},"mode":"live"}`:                                "Invalid mode",
				`{"name":"x","type":"hubspot","config":{"token":"t"},"key":"phone"}`:                                "Invalid key",
				`{"name":"x","type":"hubspot","config":{"token":"t"},"mapping":{"shoe_size":"x"}}`:                  "Invalid mapping: unknown lead field \"shoe_size\"",
				`{"name":"x","type":"hubspot","config":{"token":"t"},"rate_limit":{"requests":-1,"per_seconds":1}}`: "Invalid rate_limit",
				`{"name":"x","type":"salesforce","config":{"instance_url":"https://x"}}`:                            "Missing required field: config.auth.type",
				`{"name":"x","type":"nats","config":{"url":"nats://127.0.0.1:4222","subject":"a b"}}`:               "Invalid config.subject",
				`{"name":"x","type":"webhook","url":"http://x","secret":"` + sinkSecret + `","mode":"snapshot"}`:    "Invalid mode: snapshot is for CRM sinks",
				`{"name":"x","type":"webhook","url":"http://x","secret":"` + sinkSecret + `","start":5}`:            "Invalid field start",
				`{"name":"x","filters":{}}`: "Unknown field",
				`{"name":`:                  "Invalid JSON",
				`{"name":"x","type":"webhook","url":"http://x","secret":"` + sinkSecret + `","filter":{"types":["Nope"]}}`: "Invalid filter.types",
			} {
				status, reply := l.call(t, "POST", "/v1/sinks", operatorToken, body)
				if status != 400 || !strings.HasPrefix(reply["message"].(string), want) {
					t.Errorf("create %s: %d %v, want 400 %q", body, status, reply, want)
				}
			}
			if status, _ := l.call(t, "POST", "/v1/sinks", operatorToken, `{"name":"`+strings.Repeat("x", 70<<10)+`"}`); status != 413 {
				t.Errorf("oversized create: %d, want 413", status)
			}

			status, sink := l.call(t, "POST", "/v1/sinks", operatorToken, create)
			if status != 201 || sink["status"] != "active" || sink["position"].(float64) != 0 {
				t.Fatalf("create: %d %v", status, sink)
			}
			if _, ok := sink["secret"]; ok || sink["url"] != rcv.URL+"/hook?token=REDACTED" {
				t.Fatalf("the secret or the URL's token is returned: %v", sink)
			}
			id := sink["id"].(string)
			status, reply := l.post(t, "/v1/ingest/conversica", exampleBody(t, "conversica-lead.json"), basic("conversica", conversicaPass))
			if status != 200 {
				t.Fatalf("ingest: %d %v", status, reply)
			}
			waitUntil(t, "the delivery", func() bool { return received() == 1 })
			mu.Lock()
			first := got[0]
			mu.Unlock()
			if first["id"] != reply["event_id"] || first["lead_id"] != reply["lead_id"] || first["type"] != "LeadCaptured" ||
				first["source"] != "conversica" || first["position"] != reply["position"] || first["data"].(map[string]any)["email"] == nil {
				t.Errorf("delivered body %v does not match the stored event %v", first, reply)
			}

			waitUntil(t, "the sink's progress saved", func() bool {
				status, one := l.get(t, "/v1/sinks/"+id)
				return status == 200 && one["delivered"].(float64) == 1 && one["lag"].(float64) == 0 && one["position"] == reply["position"]
			})
			status, list := l.get(t, "/v1/sinks")
			if status != 200 || len(list["sinks"].([]any)) != 1 {
				t.Errorf("list: %d %v", status, list)
			}
			waitUntil(t, "the attempt on record", func() bool {
				_, a := l.get(t, "/v1/sinks/"+id+"/attempts?event_id="+reply["event_id"].(string))
				return len(a["attempts"].([]any)) == 1 && a["attempts"].([]any)[0].(map[string]any)["status_code"].(float64) == 200
			})

			if status, paused := l.call(t, "POST", "/v1/sinks/"+id+"/pause", operatorToken, ""); status != 200 || paused["status"] != "paused" {
				t.Errorf("pause: %d %v", status, paused)
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/"+id+"/resume", auditorToken, ""); status != 403 {
				t.Errorf("resume as the auditor: %d, want 403", status)
			}
			if status, resumed := l.call(t, "POST", "/v1/sinks/"+id+"/resume", operatorToken, ""); status != 200 || resumed["status"] != "active" {
				t.Errorf("resume: %d %v", status, resumed)
			}

			status, rp := l.call(t, "POST", "/v1/sinks/"+id+"/replays", operatorToken, `{"from_position":0}`)
			if status != 202 || rp["total"].(float64) != 1 {
				t.Fatalf("replay: %d %v", status, rp)
			}
			waitUntil(t, "the replay", func() bool {
				_, r := l.get(t, "/v1/replays/"+rp["id"].(string))
				return r["status"] == "completed" && r["delivered"].(float64) == 1
			})
			if received() != 2 {
				t.Errorf("%d deliveries after the replay, want 2", received())
			}
			for body, want := range map[string]int{`{}`: 400, `{"from_position":-1}`: 400, `{"from_time":"yesterday"}`: 400} {
				if status, _ := l.call(t, "POST", "/v1/sinks/"+id+"/replays", operatorToken, body); status != want {
					t.Errorf("replay %s: %d, want %d", body, status, want)
				}
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/00000000-0000-0000-0000-000000000000/replays", operatorToken, `{"from_position":0}`); status != 404 {
				t.Errorf("replay of an unknown sink: %d, want 404", status)
			}

			req, _ := http.NewRequest("DELETE", l.url+"/v1/sinks/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+operatorToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 204 {
				t.Fatalf("delete: %v %v", resp, err)
			}
			resp.Body.Close()
			if status, _ := l.get(t, "/v1/sinks/"+id); status != 404 {
				t.Errorf("deleted sink: %d, want 404", status)
			}
			if status, a := l.get(t, "/v1/sinks/"+id+"/attempts"); status != 200 || len(a["attempts"].([]any)) != 2 {
				t.Errorf("attempts of a deleted sink: %d %v, want 200 with both on record", status, a)
			}
			if status, _ := l.get(t, "/v1/sinks/not-a-uuid"); status != 404 {
				t.Errorf("bad sink id: %d, want 404", status)
			}
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
