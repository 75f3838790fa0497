package httpapi_test

import (
	"strings"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

const privateHint = "; set allow_private_sink_urls: true to allow private sink URLs"

// Creating or changing a sink whose URL reaches a private address is a 400 naming the field,
// the address and the setting; with allow_private_sink_urls the same calls succeed.
func TestPrivateSinkURLsThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			guarded := newLedgerGuarded(t, eventstoretest.URL(t, backend), false, nil)
			allowed := newLedger(t, backend)
			refused := map[string]string{
				`{"name":"x","type":"webhook","url":"http://169.254.169.254/latest/meta-data/","secret":"` + sinkSecret + `"}`:                                               "Invalid url: 169.254.169.254 is a link-local address",
				`{"name":"x","type":"webhook","url":"http://2130706433:8080/hook","secret":"` + sinkSecret + `"}`:                                                            "Invalid url: 2130706433 is 127.0.0.1, a loopback address",
				`{"name":"x","type":"webhook","url":"http://[::ffff:10.0.0.1]/hook","secret":"` + sinkSecret + `"}`:                                                          "Invalid url: ::ffff:10.0.0.1 is a private address (IPv4-mapped 10.0.0.1)",
				`{"name":"x","type":"webhook","url":"http://localhost:8080/hook","secret":"` + sinkSecret + `"}`:                                                             "Invalid url: localhost resolves to ",
				`{"name":"x","type":"hubspot","config":{"base_url":"http://127.0.0.1:9/hubspot","token":"t"}}`:                                                               "Invalid config.base_url: 127.0.0.1 is a loopback address",
				`{"name":"x","type":"pipedrive","config":{"base_url":"http://0x0a000001/","token":"t"}}`:                                                                     "Invalid config.base_url: 0x0a000001 is 10.0.0.1, a private address",
				`{"name":"x","type":"nats","config":{"url":"nats://[fd00:ec2::254]:4222","subject":"leads"}}`:                                                                "Invalid config.url: fd00:ec2::254 is a cloud metadata address",
				`{"name":"x","type":"salesforce","config":{"auth":{"type":"client_credentials","token_url":"http://100.64.1.1/token","client_id":"i","client_secret":"s"}}}`: "Invalid config.auth.token_url: 100.64.1.1 is a shared (CGNAT) address",
			}
			for body, want := range refused {
				status, reply := guarded.call(t, "POST", "/v1/sinks", operatorToken, body)
				if msg, _ := reply["message"].(string); status != 400 || !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, privateHint) {
					t.Errorf("create %s: %d %v, want 400 %q", body, status, reply, want+"…"+privateHint)
				}
				if status, reply := allowed.call(t, "POST", "/v1/sinks", operatorToken, body); status != 201 {
					t.Errorf("create %s with allow_private_sink_urls: %d %v, want 201", body, status, reply)
				}
			}

			id := guarded.createWebhookSink(t, "https://203.0.113.10/hook") // a public address
			for body, want := range map[string]string{
				`{"url":"http://127.0.0.1:8080/hook"}`: "Invalid url: 127.0.0.1 is a loopback address",
				`{"url":"http://0177.0.0.1/hook"}`:     "Invalid url: 0177.0.0.1 is 127.0.0.1, a loopback address",
				`{"url":"http://[fe80::1]/hook"}`:      "Invalid url: fe80::1 is a link-local address",
				`{"url":"http://192.168.0.10/hook"}`:   "Invalid url: 192.168.0.10 is a private address",
			} {
				status, reply := guarded.call(t, "PATCH", "/v1/sinks/"+id, operatorToken, body)
				if msg, _ := reply["message"].(string); status != 400 || !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, privateHint) {
					t.Errorf("patch %s: %d %v, want 400 %q", body, status, reply, want+"…"+privateHint)
				}
			}
			if status, sink := guarded.call(t, "GET", "/v1/sinks/"+id, operatorToken, ""); status != 200 || sink["url"] != "https://203.0.113.10/hook" {
				t.Errorf("after the refused patches: %d %v, want the url unchanged", status, sink)
			}
			id = allowed.createWebhookSink(t, "https://203.0.113.10/hook")
			if status, reply := allowed.call(t, "PATCH", "/v1/sinks/"+id, operatorToken, `{"url":"http://127.0.0.1:8080/hook"}`); status != 200 {
				t.Errorf("patch to loopback with allow_private_sink_urls: %d %v, want 200", status, reply)
			}
		})
	}
}
