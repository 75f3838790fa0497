package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Every text parameter of the read and admin API is checked before it reaches SQL: a NUL byte
// (PostgreSQL refuses it in text; SQLite cut the LIKE pattern at it and matched everything),
// invalid UTF-8, a broken escape or a semicolon (which Go drops silently, turning a filter off)
// is a 400 naming the parameter, the same on both databases.
func TestTextParametersAreChecked(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			status, reply := l.post(t, "/v1/ingest/leadflo", exampleBody(t, "leadflo-visitor-created.json"), header("X-Webhook-Secret", leadfloSecret))
			if status != 200 {
				t.Fatalf("ingest: %d %v", status, reply)
			}
			// With the lead in the view, a filter that is dropped or cut short would find it.
			if status, page := l.get(t, fmt.Sprintf("/v1/leads?min_position=%d", int64(reply["position"].(float64)))); status != 200 || len(page["leads"].([]any)) != 1 {
				t.Fatalf("the lead view: %d %v", status, page)
			}
			const sink = "/v1/sinks/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d"
			for _, c := range []struct{ path, param, problem string }{
				{"/v1/leads?email=%00", "email", "contains a NUL byte"},
				{"/v1/leads?q=%00", "q", "contains a NUL byte"},
				{"/v1/leads?q=a%00b", "q", "contains a NUL byte"},
				{"/v1/leads?source=%00", "source", "contains a NUL byte"},
				{"/v1/leads?email=%FF", "email", "is not valid UTF-8"},
				{"/v1/leads?q=%C3", "q", "is not valid UTF-8"},
				{"/v1/leads?cursor=%00", "cursor", "contains a NUL byte"},
				{"/v1/rejections?source=%00", "source", "contains a NUL byte"},
				{"/v1/events/stream?source=%FF", "source", "is not valid UTF-8"},
				{"/v1/leads?email=%zz", "email", "invalid URL escape"},
				{"/v1/leads?email=a;b", "email", "contains a semicolon"},
				{"/v1/leads?%00=x", `"\x00"`, "contains a NUL byte"},
				{"/v1/events?source=%00", "source", "contains a NUL byte"},
				{"/v1/events?source=%FF", "source", "is not valid UTF-8"},
				{"/v1/events?type=%00", "type", "contains a NUL byte"},
				{"/v1/events?after=%00", "after", "contains a NUL byte"},
				{"/v1/leads/%00", "lead_id", "contains a NUL byte"},
				{"/v1/leads/%FF/events", "lead_id", "is not valid UTF-8"},
				{"/v1/sinks/%00", "id", "contains a NUL byte"},
				{sink + "/attempts?event_id=%00", "event_id", "contains a NUL byte"},
				{"/v1/replays/%FF", "id", "is not valid UTF-8"},
				{"/v1/status?min_position=%FF", "min_position", "is not valid UTF-8"},
			} {
				status, reply := l.get(t, c.path)
				want := "Invalid parameter " + c.param + ": " + c.problem
				if msg, _ := reply["message"].(string); status != 400 || reply["status"] != "400" || !strings.HasPrefix(msg, want) {
					t.Errorf("GET %s: %d %v, want 400 %q", c.path, status, reply, want)
				}
			}
			// The same checks guard the operator's calls, after the token.
			status, reply = l.call(t, http.MethodPost, sink+"%00/pause", operatorToken, "")
			if status != 400 || !strings.HasPrefix(reply["message"].(string), "Invalid parameter id") {
				t.Errorf("pause with a NUL in the id: %d %v", status, reply)
			}
			if status, _ := l.call(t, http.MethodGet, "/v1/leads?email=%00", "", ""); status != 401 {
				t.Errorf("without a token: %d, want 401 before any parameter is looked at", status)
			}
			// Unicode that is valid is a plain search, found or not.
			if status, page := l.get(t, "/v1/leads?q=%C3%A9t%C3%A9&email=%E2%9C%93@example.com"); status != 200 || len(page["leads"].([]any)) != 0 {
				t.Errorf("valid UTF-8 search: %d %v, want 200 and no lead", status, page)
			}
		})
	}
}

// A list parameter becomes one SQL placeholder per value: a long list is refused before it
// reaches the database's limit on placeholders (65,535 on PostgreSQL, 32,766 on SQLite).
func TestListParametersAreBounded(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			for param, value := range map[string]string{"source": "leadflo", "type": "LeadCaptured"} {
				many := strings.TrimSuffix(strings.Repeat(value+",", 70_000), ",")
				status, reply := l.get(t, "/v1/events?"+param+"="+many)
				if msg, _ := reply["message"].(string); status != 400 || !strings.HasPrefix(msg, "Invalid "+param+": at most 100 values") {
					t.Errorf("%s with 70,000 values: %d %v, want 400", param, status, reply)
				}
			}
			if status, reply := l.get(t, "/v1/events?source="+strings.Repeat("leadflo,", 100)); status != 200 {
				t.Errorf("100 sources: %d %v, want 200", status, reply)
			}
		})
	}
}

// An admin body's text reaches the database too: a \u0000 in any string (PostgreSQL answered
// 500 for a sink's name) or invalid UTF-8 is a 400 naming the field, on both databases.
func TestAdminBodyTextIsChecked(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			sink := func(name, extra string) string {
				return `{"name":"` + name + `","type":"webhook","url":"http://127.0.0.1:9/hook","secret":"` + sinkSecret + `","start":"now"` + extra + `}`
			}
			for _, c := range []struct{ body, want string }{
				{sink(`crm\u0000x`, ""), "Invalid field name: contains a NUL character"},
				{sink("crm", `,"filter":{"sources":["leadflo","x\u0000"]}`), "Invalid field filter.sources[1]: contains a NUL character"},
				{sink("crm\xff", ""), "Invalid JSON: the body is not valid UTF-8"},
			} {
				if status, reply := l.call(t, http.MethodPost, "/v1/sinks", operatorToken, c.body); status != 400 || reply["message"] != c.want {
					t.Errorf("create %q: %d %v, want 400 %q", c.body, status, reply, c.want)
				}
			}
			status, created := l.call(t, http.MethodPost, "/v1/sinks", operatorToken, sink(`crm \\u0000 literally`, ""))
			if status != 201 || created["name"] != `crm \u0000 literally` {
				t.Fatalf("an escaped backslash is plain text: %d %v", status, created)
			}
			replay := `{"from_position":0,"filter":{"types":["LeadCaptured\u0000"]}}`
			if status, reply := l.call(t, http.MethodPost, "/v1/sinks/"+created["id"].(string)+"/replays", operatorToken, replay); status != 400 ||
				reply["message"] != "Invalid field filter.types[0]: contains a NUL character" {
				t.Errorf("replay with a NUL in its filter: %d %v", status, reply)
			}
		})
	}
}
