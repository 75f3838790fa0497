package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

func wcBody(trigger string, leadID int, lastUpdated, state string) []byte {
	return []byte(fmt.Sprintf(`{"trigger":%q,"lead_id":%d,"lead_type":"Chat","last_updated":%q,"lead_state":%q,`+
		`"contact_name":"Jeremy Helms","contact_email_address":" Hello@WhatConverts.com","lead_source":"google","spam":false,"duplicate":true}`,
		trigger, leadID, lastUpdated, state))
}

func (l *ledger) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	return do(t, req)
}

func TestLeadViewThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			wcURL := "/v1/ingest/whatconverts?token=" + wcToken
			var last float64
			for _, body := range [][]byte{
				wcBody("new", 7, "2026-01-01T10:00:00Z", "In Progress"),
				wcBody("update", 7, "2026-01-02T10:00:00Z", "Completed"),
				wcBody("update", 7, "2026-01-02T10:00:00Z", "Completed"), // sent again
				wcBody("update", 7, "2026-01-01T12:00:00Z", "Abandoned"), // older
				wcBody("update", 8, "2026-01-05T10:00:00Z", "Completed"), // before its new
				wcBody("new", 8, "2026-01-04T10:00:00Z", "In Progress"),
			} {
				status, reply := l.post(t, wcURL, body, nil)
				if status != 200 {
					t.Fatalf("ingest: %d %v", status, reply)
				}
				last = reply["position"].(float64)
			}
			status, page := l.get(t, fmt.Sprintf("/v1/leads?email=%s&min_position=%d", url.QueryEscape("HELLO@whatconverts.com"), int64(last)))
			if status != 200 || len(page["leads"].([]any)) != 2 {
				t.Fatalf("leads by email after min_position: %d %v", status, page)
			}
			byExternalID := map[string]map[string]any{}
			for _, l := range page["leads"].([]any) {
				byExternalID[l.(map[string]any)["external_id"].(string)] = l.(map[string]any)
			}
			lead := byExternalID["7"]
			if lead["score"] != nil || lead["status"] != "Completed" || lead["event_count"].(float64) != 4 || lead["duplicate"] != true ||
				lead["email"] != " Hello@WhatConverts.com" || lead["attribution"].(map[string]any)["source"] != "google" {
				t.Fatalf("lead 7 = %v", lead)
			}
			status, history := l.get(t, "/v1/leads/"+lead["id"].(string)+"/events")
			if status != 200 {
				t.Fatalf("history: %d %v", status, history)
			}
			var got []string
			for _, e := range history["events"].([]any) {
				ev := e.(map[string]any)
				got = append(got, fmt.Sprintf("%v/%v", ev["applied"], ev["skip_reason"]))
				if ev["raw"] == "" || ev["raw_sha256"] == "" {
					t.Fatalf("history event without its raw body: %v", ev)
				}
			}
			if want := "[true/<nil> true/<nil> false/duplicate false/stale]"; fmt.Sprint(got) != want {
				t.Fatalf("annotations = %v, want %s", got, want)
			}
			status, one := l.get(t, "/v1/leads/"+byExternalID["8"]["id"].(string))
			if status != 200 || one["status"] != "Completed" || one["event_count"].(float64) != 2 {
				t.Fatalf("update-before-new lead: %d %v", status, one)
			}
			status, st := l.get(t, "/v1/status")
			if status != 200 || st["head"].(float64) != last {
				t.Fatalf("status: %d %v", status, st)
			}
			if p := st["projections"].([]any)[0].(map[string]any); p["name"] != "lead_view" || p["position"].(float64) != last ||
				p["lag"].(float64) != 0 || p["failed_events"].(float64) != 0 {
				t.Fatalf("status of the caught-up lead view: %v", p)
			}
			_, history8 := l.get(t, "/v1/leads/"+byExternalID["8"]["id"].(string)+"/events")
			var got8 []string
			for _, e := range history8["events"].([]any) {
				ev := e.(map[string]any)
				got8 = append(got8, fmt.Sprintf("%v/%v", ev["applied"], ev["skip_reason"]))
			}
			if want := "[true/<nil> false/stale]"; fmt.Sprint(got8) != want {
				t.Fatalf("update before new: annotations = %v, want %s (the late new is older than the update)", got8, want)
			}

			before := fmt.Sprint(l.get(t, "/v1/leads/"+lead["id"].(string)+"/events"))
			_, leadsBefore := l.get(t, "/v1/leads?limit=1000")
			for token, want := range map[string]int{"": 401, auditorToken: 403, operatorToken: 200} {
				req, _ := http.NewRequest(http.MethodPost, l.url+"/v1/projections/lead_view/rebuild", nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				if status, body := do(t, req); status != want {
					t.Fatalf("rebuild with token %q: %d %v, want %d", token, status, body, want)
				}
			}
			if after := fmt.Sprint(l.get(t, "/v1/leads/"+lead["id"].(string)+"/events")); after != before {
				t.Fatalf("history changed by a rebuild:\n%s\n%s", before, after)
			}
			if _, leadsAfter := l.get(t, "/v1/leads?limit=1000"); len(leadsBefore["leads"].([]any)) != 2 || fmt.Sprint(leadsAfter) != fmt.Sprint(leadsBefore) {
				t.Fatalf("the lead views changed by a rebuild:\n%v\n%v", leadsBefore, leadsAfter)
			}

			for path, want := range map[string]int{
				"/v1/leads/00000000-0000-0000-0000-000000000000":           404,
				"/v1/leads/not-a-uuid":                                     404,
				"/v1/leads/00000000-0000-0000-0000-000000000000/events":    404,
				"/v1/leads?limit=0":                                        400,
				"/v1/leads?cursor=zzz":                                     400,
				"/v1/leads?min_position=x":                                 400,
				fmt.Sprintf("/v1/leads?min_position=%d", int64(last)+1000): 503,
			} {
				if status, body := l.get(t, path); status != want || body["message"] == "" {
					t.Errorf("GET %s: %d %v, want %d with a message", path, status, body, want)
				}
			}
			req, _ := http.NewRequest(http.MethodGet, l.url+fmt.Sprintf("/v1/leads?min_position=%d", int64(last)+1000), nil)
			req.Header.Set("Authorization", "Bearer "+auditorToken)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("a read the lead view has not caught up with: %v %v, want 503 with Retry-After: 1", resp, err)
			} else {
				resp.Body.Close()
			}
		})
	}
}

// One person found across vendors by email (whatever its case and spaces), and the list's
// source and free-text filters.
func TestLeadSearch(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			if status, reply := l.post(t, "/v1/ingest/whatconverts?token="+wcToken, wcBody("new", 31, "2026-01-01T10:00:00Z", "New"), nil); status != 200 {
				t.Fatalf("whatconverts: %d %v", status, reply)
			}
			conversica := []byte(`{"firstName":"Jerry","lastName":"Helms","email":"hello@WHATCONVERTS.com ","conversationHistory":"hi","company":"Acme"}`)
			status, reply := l.post(t, "/v1/ingest/conversica", conversica, basic("conversica", conversicaPass))
			if status != 200 {
				t.Fatalf("conversica: %d %v", status, reply)
			}
			last := int64(reply["position"].(float64))
			for query, want := range map[string][]string{
				"email=" + url.QueryEscape(" Hello@WhatConverts.COM"): {"conversica", "whatconverts"},
				"source=conversica":       {"conversica"},
				"source=whatconverts":     {"whatconverts"},
				"q=jeremy":                {"whatconverts"},
				"q=HELMS":                 {"conversica", "whatconverts"},
				"q=nobody":                {},
				"q=jer&source=conversica": {"conversica"},
			} {
				status, page := l.get(t, fmt.Sprintf("/v1/leads?%s&min_position=%d", query, last))
				if status != 200 {
					t.Fatalf("%s: %d %v", query, status, page)
				}
				var sources []string
				for _, lead := range page["leads"].([]any) {
					sources = append(sources, lead.(map[string]any)["source"].(string))
				}
				sort.Strings(sources)
				if fmt.Sprint(sources) != fmt.Sprint(want) {
					t.Errorf("GET /v1/leads?%s: sources %v, want %v", query, sources, want)
				}
			}
			if status, body := l.get(t, "/v1/leads?limit=1001"); status != 400 {
				t.Errorf("limit=1001: %d %v, want 400", status, body)
			}
		})
	}
}
