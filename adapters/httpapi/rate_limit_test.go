package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Each source and each token has its own bucket: one past its limit gets 429 with
// Retry-After and stores nothing, while the others go on; a stranger's failed attempts do not
// count against a vendor; the limits and the refusals show in /metrics.
func TestRateLimits(t *testing.T) {
	l := newLedgerWith(t, eventstoretest.URL(t, "sqlite"), func(c *httpapi.Config) {
		c.RateLimits = config.RateLimits{
			Sources: map[string]config.RateLimit{
				"leadflo": {Requests: 3, PerSeconds: 60},
				"sensei":  {Requests: 1, PerSeconds: 60},
			},
			Tokens: map[string]config.RateLimit{"audit": {Requests: 3, PerSeconds: 60}},
		}
	})
	leadflo := func(i int, secret string) (int, map[string]any, http.Header) {
		body := fmt.Sprintf(`{"event":"visitor_created","timestamp":"2025-03-01T14:22:00.000Z","websiteId":"w","data":{"visitor":{"id":"vis_%d","email":"v%d@example.com"}}}`, i, i)
		req, _ := http.NewRequest(http.MethodPost, l.url+"/v1/ingest/leadflo", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", secret)
		return doWithHeaders(t, req)
	}

	for i := range 5 { // a stranger guessing: refused, and none of it counts against the vendor
		if status, _, _ := leadflo(i, "guess"); status != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d, want 401", status)
		}
	}
	for i := range 3 {
		if status, reply, _ := leadflo(i, leadfloSecret); status != http.StatusOK {
			t.Fatalf("webhook %d within the limit: %d %v", i, status, reply)
		}
	}
	status, reply, h := leadflo(3, leadfloSecret)
	retryAfter, _ := strconv.Atoi(h.Get("Retry-After"))
	if status != http.StatusTooManyRequests || retryAfter < 1 || retryAfter > 20 ||
		reply["status"] != "429" || !strings.Contains(reply["message"].(string), `source "leadflo"`) {
		t.Fatalf("webhook past the limit: %d, Retry-After %q, %v; want 429, 1-20 s, naming the source", status, h.Get("Retry-After"), reply)
	}
	if status, _, _ := leadflo(4, "guess"); status != http.StatusUnauthorized {
		t.Errorf("wrong secret past the limit: %d, want 401 (credentials first)", status)
	}

	// Another source is not starved by the first.
	for i := range 10 {
		body := wcBody("new", 100+i, "2026-01-01T10:00:00Z", "New")
		if status, reply := l.post(t, "/v1/ingest/whatconverts?token="+wcToken, body, nil); status != http.StatusOK {
			t.Fatalf("an unlimited source while another is limited: %d %v", status, reply)
		}
	}
	// A signed source is limited after its signature is checked, body and all.
	sensei := exampleBody(t, "sensei-lead-created.json")
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		if status, reply := l.post(t, "/v1/ingest/sensei", sensei, signed(senseiKey, time.Now(), sensei)); status != want {
			t.Fatalf("sensei webhook %d: %d %v, want %d", i, status, reply, want)
		}
	}

	if n := len(l.events(t)); n != 3+10+1 {
		t.Errorf("the log holds %d events, want 14: a refused webhook must store nothing", n)
	}

	// Tokens: the auditor's own bucket (the read of the log above took one of its three); the
	// operator's is not touched by it.
	for i, want := range []int{200, 200, 429} {
		if status, reply := l.getAs(t, auditorToken, "/v1/status"); status != want {
			t.Fatalf("auditor call %d: %d %v, want %d", i, status, reply, want)
		}
	}
	if status, reply := l.getAs(t, operatorToken, "/v1/status"); status != http.StatusOK {
		t.Errorf("operator while the auditor is limited: %d %v", status, reply)
	}

	_, metrics, _ := scrape(t, http.DefaultClient, l.url+"/metrics", "")
	for _, want := range []string{
		`leadledger_rate_limited_total{kind="source",name="leadflo"} 1`,
		`leadledger_rate_limited_total{kind="source",name="sensei"} 1`,
		`leadledger_rate_limited_total{kind="token",name="audit"} 1`,
		`leadledger_rate_limit_requests_per_second{kind="source",name="leadflo"} 0.05`,
		`leadledger_rate_limit_burst{kind="source",name="leadflo"} 3`,
		`leadledger_rate_limit_burst{kind="token",name="audit"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `name="whatconverts"`) {
		t.Error("/metrics shows a limit for a source that has none")
	}
}
