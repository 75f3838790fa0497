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

// hookRequest is one request a test receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
}

// hookReceiver is a receiver on loopback keeping every request, answering status.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	status int
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	h := &hookReceiver{status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{header: r.Header.Clone(), body: body})
		status := h.status
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// acceptedBy reports whether a receiver holding only secret accepts the request.
func acceptedBy(t *testing.T, secret string, r hookRequest) bool {
	t.Helper()
	key, err := standardwebhooks.DecodeSecret(secret)
	if err != nil {
		t.Fatalf("decode %q: %v", secret, err)
	}
	return standardwebhooks.Verify([][]byte{key}, r.header, r.body, time.Now())
}

// createWebhookSink adds a webhook sink to url through the API and returns its id.
func (l *ledger) createWebhookSink(t *testing.T, url string) string {
	t.Helper()
	status, sink := l.call(t, "POST", "/v1/sinks", operatorToken,
		`{"name":"hook","type":"webhook","url":"`+url+`","secret":"`+sinkSecret+`","start":"now"}`)
	if status != 201 {
		t.Fatalf("create sink: %d %v", status, sink)
	}
	return sink["id"].(string)
}

// ingestOne posts a vendor's example lead and returns the stored event's id.
func (l *ledger) ingestOne(t *testing.T) string {
	t.Helper()
	status, reply := l.post(t, "/v1/ingest/conversica", exampleBody(t, "conversica-lead.json"), basic("conversica", conversicaPass))
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, reply)
	}
	return reply["event_id"].(string)
}

// PATCH changes a sink in part: the running delivery follows the new url at once; bad fields
// are a 400 naming them; the reply is the sink as GET shows it, credentials redacted.
func TestPatchSinkThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			before, after := newHookReceiver(t, 200), newHookReceiver(t, 200)
			id := l.createWebhookSink(t, before.srv.URL)
			l.ingestOne(t)
			waitUntil(t, "the delivery before the change", func() bool { return len(before.requests()) == 1 })

			if status, _ := l.call(t, "PATCH", "/v1/sinks/"+id, auditorToken, `{"name":"x"}`); status != 403 {
				t.Errorf("patch as the auditor: %d, want 403", status)
			}
			for body, want := range map[string]string{
				`{"url":"ftp://x"}`:                             "Invalid url",
				`{"name":" "}`:                                  "Invalid name",
				`{"filter":{"types":["Nope"]}}`:                 "Invalid filter.types",
				`{"rate_limit":{"requests":1,"per_seconds":1}}`: "Invalid field: mapping and rate_limit are for CRM sinks",
				`{"type":"hubspot"}`:                            "Unknown field",
				`{"secret":"` + sinkSecret + `"}`:               "Unknown field",
				`{"url":5}`:                                     "Invalid field url",
			} {
				if status, reply := l.call(t, "PATCH", "/v1/sinks/"+id, operatorToken, body); status != 400 || !strings.HasPrefix(reply["message"].(string), want) {
					t.Errorf("patch %s: %d %v, want 400 %q", body, status, reply, want)
				}
			}
			if status, _ := l.call(t, "PATCH", "/v1/sinks/00000000-0000-0000-0000-000000000000", operatorToken, `{"name":"x"}`); status != 404 {
				t.Errorf("patch of an unknown sink: %d, want 404", status)
			}

			status, sink := l.call(t, "PATCH", "/v1/sinks/"+id, operatorToken, `{"url":"`+after.srv.URL+`/hook?token=`+sinkURLToken+`"}`)
			if status != 200 || sink["url"] != after.srv.URL+"/hook?token=REDACTED" || sink["name"] != "hook" || sink["type"] != "webhook" {
				t.Fatalf("patch: %d %v", status, sink)
			}
			if _, ok := sink["secret"]; ok {
				t.Errorf("the secret is returned: %v", sink)
			}
			_, got := l.get(t, "/v1/sinks/"+id)
			if got["url"] != sink["url"] || got["name"] != "hook" {
				t.Errorf("GET after the patch: %v", got)
			}
			eventID := l.ingestOne(t)
			waitUntil(t, "the delivery to the new url", func() bool { return len(after.requests()) == 1 })
			if r := after.requests()[0]; r.header.Get("webhook-id") != eventID || !acceptedBy(t, sinkSecret, r) {
				t.Errorf("delivery after the patch: webhook-id %q, want %s, signed", r.header.Get("webhook-id"), eventID)
			}
			if n := len(before.requests()); n != 1 {
				t.Errorf("the old url got %d requests, want 1", n)
			}
		})
	}
}

// A rotation without a secret generates one, shown once; during the overlap a receiver with
// only the old secret and one with only the new secret both accept a delivery; the secrets
// never appear in a later reply nor in the logs.
func TestRotateSecretThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			rcv := newHookReceiver(t, 200)
			id := l.createWebhookSink(t, rcv.srv.URL)
			for body, want := range map[string]string{
				`{"expire_old_after":"8d"}`:   "Invalid expire_old_after",
				`{"expire_old_after":"169h"}`: "Invalid expire_old_after",
				`{"secret":"plain"}`:          "Invalid secret",
				`{"secrets":"x"}`:             "Unknown field",
			} {
				if status, reply := l.call(t, "POST", "/v1/sinks/"+id+"/secret", operatorToken, body); status != 400 || !strings.HasPrefix(reply["message"].(string), want) {
					t.Errorf("rotate %s: %d %v, want 400 %q", body, status, reply, want)
				}
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/"+id+"/secret", auditorToken, `{}`); status != 403 {
				t.Errorf("rotate as the auditor: %d, want 403", status)
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/00000000-0000-0000-0000-000000000000/secret", operatorToken, `{}`); status != 404 {
				t.Errorf("rotate an unknown sink: %d, want 404", status)
			}

			status, reply := l.call(t, "POST", "/v1/sinks/"+id+"/secret", operatorToken, `{"expire_old_after":"1h"}`)
			generated, _ := reply["secret"].(string)
			if status != 200 || !strings.HasPrefix(generated, "whsec_") || generated == sinkSecret {
				t.Fatalf("rotate: %d %v", status, reply)
			}
			expires, err := time.Parse(time.RFC3339Nano, reply["old_secret_expires_at"].(string))
			if err != nil || time.Until(expires) < 59*time.Minute || time.Until(expires) > time.Hour {
				t.Errorf("old_secret_expires_at %v (%v), want in an hour", reply["old_secret_expires_at"], err)
			}
			_, sink := l.get(t, "/v1/sinks/"+id)
			if sink["old_secret_expires_at"] == nil || strings.Contains(jsonText(t, sink), "whsec_") {
				t.Errorf("GET during the overlap: %v", sink)
			}

			l.ingestOne(t)
			waitUntil(t, "a delivery signed twice", func() bool {
				rs := rcv.requests()
				return len(rs) > 0 && len(strings.Fields(rs[len(rs)-1].header.Get("webhook-signature"))) == 2
			})
			r := rcv.requests()[len(rcv.requests())-1]
			if !acceptedBy(t, sinkSecret, r) || !acceptedBy(t, generated, r) {
				t.Errorf("during the overlap: old secret accepts %v, new %v; want both", acceptedBy(t, sinkSecret, r), acceptedBy(t, generated, r))
			}

			status, reply = l.call(t, "POST", "/v1/sinks/"+id+"/secret", operatorToken, "")
			if second, _ := reply["secret"].(string); status != 200 || !strings.HasPrefix(second, "whsec_") || second == generated {
				t.Errorf("rotation without a body: %d %v; want a new generated secret", status, reply)
			}
			status, reply = l.call(t, "POST", "/v1/sinks/"+id+"/secret", operatorToken, `{"secret":"`+sinkSecret+`","expire_old_after":"0s"}`)
			if _, shown := reply["secret"]; status != 200 || shown {
				t.Errorf("rotation to a given secret: %d %v; want 200 without a secret", status, reply)
			}
			if _, sink := l.get(t, "/v1/sinks/"+id); sink["old_secret_expires_at"] != nil {
				t.Errorf("no overlap, yet the sink shows one: %v", sink)
			}
			if strings.Contains(l.logs.String(), generated) {
				t.Errorf("the generated secret appears in the logs")
			}
		})
	}
}

// A test delivery reports the receiver's answer with a 200, a 500 and no answer included, and
// is not recorded; other sink types refuse it.
func TestSinkTestThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			rcv := newHookReceiver(t, 500)
			id := l.createWebhookSink(t, rcv.srv.URL)
			status, reply := l.call(t, "POST", "/v1/sinks/"+id+"/test", operatorToken, "")
			if status != 200 || reply["status_code"].(float64) != 500 || reply["delivered"] != false || reply["error"] == "" {
				t.Fatalf("test of a receiver answering 500: %d %v", status, reply)
			}
			got := rcv.requests()
			if len(got) != 1 || !acceptedBy(t, sinkSecret, got[0]) || !strings.Contains(string(got[0].body), `"type":"ledger.ping"`) ||
				got[0].header.Get("webhook-id") != reply["webhook_id"] {
				t.Fatalf("the receiver got %d requests: want one signed ledger.ping", len(got))
			}
			rcv.mu.Lock()
			rcv.status = 200
			rcv.mu.Unlock()
			if status, reply := l.call(t, "POST", "/v1/sinks/"+id+"/test", operatorToken, ""); status != 200 || reply["delivered"] != true || reply["error"] != "" {
				t.Errorf("test of a receiver answering 200: %d %v", status, reply)
			}
			if _, a := l.get(t, "/v1/sinks/"+id+"/attempts"); len(a["attempts"].([]any)) != 0 {
				t.Errorf("a test delivery was recorded as an attempt: %v", a)
			}

			down := l.createWebhookSink(t, "http://127.0.0.1:9/hook?token="+sinkURLToken)
			status, reply = l.call(t, "POST", "/v1/sinks/"+down+"/test", operatorToken, "")
			if status != 200 || reply["status_code"].(float64) != 0 || !strings.Contains(reply["error"].(string), "request failed") {
				t.Errorf("test of an unreachable receiver: %d %v", status, reply)
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/"+id+"/test", auditorToken, ""); status != 403 {
				t.Errorf("test as the auditor: %d, want 403", status)
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/00000000-0000-0000-0000-000000000000/test", operatorToken, ""); status != 404 {
				t.Errorf("test of an unknown sink: %d, want 404", status)
			}
			crm := l.createHubSpotSink(t)
			if status, reply := l.call(t, "POST", "/v1/sinks/"+crm+"/test", operatorToken, ""); status != 400 || !strings.Contains(reply["message"].(string), "webhook sinks") {
				t.Errorf("test of a CRM sink: %d %v, want 400", status, reply)
			}
		})
	}
}

// A redelivery sends one event again to one webhook sink, with the event's webhook-id, and is
// on record as a manual attempt with no retry pending.
func TestRedeliverThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			rcv := newHookReceiver(t, 200)
			id := l.createWebhookSink(t, rcv.srv.URL)
			eventID := l.ingestOne(t)
			waitUntil(t, "the live delivery", func() bool { return len(rcv.requests()) == 1 })

			status, a := l.call(t, "POST", "/v1/events/"+eventID+"/redeliver?sink="+id, operatorToken, "")
			if status != 200 || a["manual"] != true || a["event_id"] != eventID || a["status_code"].(float64) != 200 || a["next_attempt_at"] != nil {
				t.Fatalf("redeliver: %d %v", status, a)
			}
			got := rcv.requests()
			if len(got) != 2 || got[1].header.Get("webhook-id") != eventID || !acceptedBy(t, sinkSecret, got[1]) {
				t.Fatalf("the receiver got %d requests; want the live one and a signed redelivery with webhook-id %s", len(got), eventID)
			}
			waitUntil(t, "both attempts on record", func() bool {
				_, list := l.get(t, "/v1/sinks/"+id+"/attempts?event_id="+eventID)
				return len(list["attempts"].([]any)) == 2
			})

			unknown := "00000000-0000-0000-0000-000000000000"
			crm := l.createHubSpotSink(t)
			for path, want := range map[string]int{
				"/v1/events/" + eventID + "/redeliver":                 400,
				"/v1/events/" + unknown + "/redeliver?sink=" + id:      404,
				"/v1/events/" + eventID + "/redeliver?sink=" + unknown: 404,
				"/v1/events/" + eventID + "/redeliver?sink=nope":       404,
				"/v1/events/" + eventID + "/redeliver?sink=" + crm:     409,
			} {
				if status, reply := l.call(t, "POST", path, operatorToken, ""); status != want {
					t.Errorf("POST %s: %d %v, want %d", path, status, reply, want)
				}
			}
			if status, _ := l.call(t, "POST", "/v1/events/"+eventID+"/redeliver?sink="+id, auditorToken, ""); status != 403 {
				t.Errorf("redeliver as the auditor: %d, want 403", status)
			}
		})
	}
}

// createHubSpotSink adds a CRM sink through the API (its CRM unreachable) and returns its id.
func (l *ledger) createHubSpotSink(t *testing.T) string {
	t.Helper()
	status, sink := l.call(t, "POST", "/v1/sinks", operatorToken,
		`{"name":"hs","type":"hubspot","config":{"base_url":"http://127.0.0.1:9","token":"pat-na1-s3cret-hubspot"}}`)
	if status != 201 {
		t.Fatalf("create hubspot sink: %d %v", status, sink)
	}
	return sink["id"].(string)
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The attempts show when a failed delivery is tried next, and null once it is not pending.
func TestAttemptsShowNextAttemptThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			rcv := newHookReceiver(t, 503)
			id := l.createWebhookSink(t, rcv.srv.URL)
			l.ingestOne(t)
			var last map[string]any
			waitUntil(t, "a failed attempt on record", func() bool {
				_, list := l.get(t, "/v1/sinks/"+id+"/attempts")
				a := list["attempts"].([]any)
				if len(a) == 0 {
					return false
				}
				last = a[len(a)-1].(map[string]any)
				return true
			})
			next, err := time.Parse(time.RFC3339Nano, last["next_attempt_at"].(string))
			at, _ := time.Parse(time.RFC3339Nano, last["attempted_at"].(string))
			if err != nil || next.Before(at) || next.After(at.Add(5*time.Second)) {
				t.Errorf("failed attempt: attempted_at %v, next_attempt_at %v (%v); want the retry within its backoff", last["attempted_at"], last["next_attempt_at"], err)
			}
			if status, _ := l.call(t, "POST", "/v1/sinks/"+id+"/pause", operatorToken, ""); status != 200 {
				t.Fatalf("pause: %d", status)
			}
			_, list := l.get(t, "/v1/sinks/"+id+"/attempts")
			for _, a := range list["attempts"].([]any) {
				if a.(map[string]any)["next_attempt_at"] != nil {
					t.Errorf("a paused sink's attempt shows a next attempt: %v", a)
				}
			}
		})
	}
}
