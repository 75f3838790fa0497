package httpapi_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

const crmToken = "pat-na1-api-test-token-0123456789"

// A HubSpot sink through the admin API: created by an operator only, shown without its token,
// with its defaults; a WhatConverts lead reaches HubSpot; the identity map, the lead's
// destinations and the dead letters are readable by auditors; a retry is for operators.
func TestCRMSinkThroughTheAPI(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			fake := fakehubspot.New(fakehubspot.Config{Token: crmToken})
			fake.SetReject(func(p map[string]string) string {
				if strings.HasPrefix(p["email"], "bad") {
					return "Property values were not valid: region is required"
				}
				return ""
			})
			crm := httptest.NewServer(fake)
			defer crm.Close()

			create := fmt.Sprintf(`{"name":"hs","type":"hubspot","start":"beginning","config":{"base_url":%q,"token":%q}}`, crm.URL, crmToken)
			if status, _ := l.call(t, "POST", "/v1/sinks", auditorToken, create); status != 403 {
				t.Errorf("create by an auditor: %d, want 403", status)
			}
			status, sink := l.call(t, "POST", "/v1/sinks", operatorToken, create)
			if status != 201 {
				t.Fatalf("create: %d %v", status, sink)
			}
			shown := fmt.Sprint(sink)
			config, _ := sink["config"].(map[string]any)
			if strings.Contains(shown, crmToken) || config["token"] != "REDACTED" || config["base_url"] != crm.URL {
				t.Errorf("sink shown as %v: want the config with its token REDACTED", sink)
			}
			mapping, _ := sink["mapping"].(map[string]any)
			if sink["mode"] != "snapshot" || sink["key"] != "email" || mapping["first_name"] != "firstname" ||
				fmt.Sprint(sink["rate_limit"]) != "map[per_seconds:10 requests:100]" {
				t.Errorf("defaults: mode %v, key %v, mapping %v, rate_limit %v", sink["mode"], sink["key"], mapping, sink["rate_limit"])
			}
			id := sink["id"].(string)

			lead := func(n int, email string) string {
				status, reply := l.post(t, "/v1/ingest/whatconverts?token="+wcToken, []byte(fmt.Sprintf(
					`{"trigger":"new","lead_id":%d,"contact_name":"Lead %d","contact_email_address":%q}`, n, n, email)), nil)
				if status != 200 {
					t.Fatalf("ingest: %d %v", status, reply)
				}
				return reply["lead_id"].(string)
			}
			good, bad := lead(1, "good@example.com"), lead(2, "bad@example.com")
			waitUntil(t, "the sink to write both records", func() bool {
				_, s := l.call(t, "GET", "/v1/sinks/"+id, auditorToken, "")
				return s["lag"] == float64(0) && len(fake.Contacts()) == 1
			})

			_, records := l.call(t, "GET", "/v1/sinks/"+id+"/records?lead_id="+good, auditorToken, "")
			list, _ := records["records"].([]any)
			contact, _ := fake.Contact("ledger_key", "good@example.com")
			if len(list) != 1 || list[0].(map[string]any)["external_id"] != contact.ID || list[0].(map[string]any)["key"] != "good@example.com" {
				t.Errorf("records of the good lead: %v, want HubSpot contact %s", records, contact.ID)
			}
			_, view := l.call(t, "GET", "/v1/leads/"+good, auditorToken, "")
			dests, _ := view["destinations"].([]any)
			if len(dests) != 1 || dests[0].(map[string]any)["external_id"] != contact.ID || dests[0].(map[string]any)["sink_id"] != id {
				t.Errorf("destinations of the good lead: %v", view["destinations"])
			}
			_, failures := l.call(t, "GET", "/v1/sinks/"+id+"/failures", auditorToken, "")
			dead, _ := failures["failures"].([]any)
			if len(dead) != 1 || !strings.Contains(fmt.Sprint(dead[0]), "region is required") || !strings.Contains(fmt.Sprint(dead[0]), bad) {
				t.Errorf("failures: %v, want the bad lead's record with HubSpot's message", failures)
			}

			if status, _ := l.call(t, "POST", "/v1/sinks/"+id+"/failures/retry", auditorToken, ""); status != 403 {
				t.Errorf("retry by an auditor: %d, want 403", status)
			}
			fake.SetReject(nil)
			if status, reply := l.call(t, "POST", "/v1/sinks/"+id+"/failures/retry", operatorToken, ""); status != 202 || reply["retrying"] != float64(1) {
				t.Errorf("retry: %d %v", status, reply)
			}
			waitUntil(t, "the retried record in HubSpot", func() bool { return len(fake.Contacts()) == 2 })
			if status, _ := l.call(t, "GET", "/v1/sinks/"+id+"/records?limit=0", auditorToken, ""); status != 400 {
				t.Errorf("records?limit=0: %d, want 400", status)
			}
			if strings.Contains(l.logs.String(), crmToken) {
				t.Errorf("the token is in the log")
			}
		})
	}
}
