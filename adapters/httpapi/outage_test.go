package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// logLine is one line of the server's JSON log.
type logLine struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	Status  int    `json:"status"`
	Path    string `json:"path"`
	Refused int64  `json:"refused"`
}

func (l *ledger) logLines(t *testing.T) []logLine {
	t.Helper()
	var out []logLine
	for _, raw := range strings.Split(strings.TrimSpace(l.logs.String()), "\n") {
		var line logLine
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", raw)
		}
		out = append(out, line)
	}
	return out
}

// countLogLines counts the server's log lines with a message.
func (l *ledger) countLogLines(t *testing.T, msg string) int {
	t.Helper()
	n := 0
	for _, line := range l.logLines(t) {
		if line.Msg == msg {
			n++
		}
	}
	return n
}

// postLead sends one LeadFloAgent visitor; it returns the status, the Retry-After header and
// the event id when stored.
func (l *ledger) postLead(t *testing.T, i int) (status int, retryAfter, eventID string) {
	t.Helper()
	body := fmt.Sprintf(`{"event":"visitor_created","timestamp":"2025-03-01T14:22:00.000Z","websiteId":"w","data":{"visitor":{"id":"vis_%d","email":"v%d@example.com"}}}`, i, i)
	req, _ := http.NewRequest(http.MethodPost, l.url+"/v1/ingest/leadflo", strings.NewReader(body))
	req.Header.Set("X-Webhook-Secret", leadfloSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var reply struct {
		Status  string `json:"status"`
		Message string `json:"message"`
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(data, &reply); err != nil || reply.Status != fmt.Sprint(resp.StatusCode) || reply.Message == "" {
		t.Fatalf("ingest reply %d is not the contract's JSON: %s", resp.StatusCode, data)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), reply.EventID
}

// TestDatabaseOutage stops PostgreSQL as the server sees it (a proxy in front of the shared
// server) while vendors keep sending: every webhook gets 503 with Retry-After: 1, the log tells
// the outage in a few lines rather than a line or two per request, nothing acknowledged is
// lost, and ingest recovers by itself when the database is back.
func TestDatabaseOutage(t *testing.T) {
	proxy, databaseURL := eventstoretest.PostgresProxy(t, eventstoretest.PostgresURL(t))
	l := newLedgerWith(t, databaseURL, nil)
	var acked []string
	if status, _, id := l.postLead(t, 0); status != http.StatusOK {
		t.Fatalf("before the outage: %d\n%s", status, l.logs)
	} else {
		acked = append(acked, id)
	}

	proxy.Stop()
	const senders, each = 8, 5
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				status, retryAfter, _ := l.postLead(t, 1000+s*each+i)
				if status != http.StatusServiceUnavailable || retryAfter != "1" {
					t.Errorf("during the outage: %d Retry-After %q, want 503 and 1", status, retryAfter)
				}
			}
		})
	}
	wg.Wait()
	for _, path := range []string{"/v1/events", "/v1/leads?email=a@example.com", "/v1/status"} {
		req, _ := http.NewRequest(http.MethodGet, l.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+auditorToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("GET %s during the outage: %d Retry-After %q, want 503 and 1", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// While it lasts, the outage is logged again at most every interval (10s), with a count.
	l.later.Add(int64(11 * time.Second))
	if status, retryAfter, _ := l.postLead(t, 2000); status != http.StatusServiceUnavailable || retryAfter != "1" {
		t.Fatalf("later in the outage: %d Retry-After %q", status, retryAfter)
	}

	proxy.Start()
	deadline := time.Now().Add(20 * time.Second)
	for i := 3000; ; i++ {
		status, _, id := l.postLead(t, i)
		if status == http.StatusOK {
			acked = append(acked, id)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not recover after the database came back: %d", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The outage ends with a webhook stored an interval after the last refusal: not before.
	if n := l.countLogLines(t, "database available again"); n != 0 {
		t.Errorf("the outage was declared over %d times with the first webhook stored after it", n)
	}
	l.later.Add(int64(11 * time.Second))
	if status, _, id := l.postLead(t, 4000); status != http.StatusOK {
		t.Fatalf("after the outage: %d", status)
	} else {
		acked = append(acked, id)
	}

	stored := map[string]bool{}
	for _, e := range l.events(t) {
		stored[e["id"].(string)] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("event %s was acknowledged and is not in the log", id)
		}
	}

	var started, still, ended []logLine
	refusedLines := 0
	for _, line := range l.logLines(t) {
		switch {
		case line.Msg == "database unavailable: ingest answers 503 with Retry-After until it is back":
			started = append(started, line)
		case line.Msg == "database still unavailable":
			still = append(still, line)
		case line.Msg == "database available again":
			ended = append(ended, line)
		case line.Msg == "append webhook":
			t.Errorf("a per-request append error was logged: %+v", line)
		case line.Msg == "http request" && line.Status == http.StatusServiceUnavailable && strings.HasPrefix(line.Path, "/v1/ingest/"):
			refusedLines++
			if line.Level != "INFO" {
				t.Errorf("a refused request's access line is %s, want INFO (the outage lines tell it)", line.Level)
			}
		}
	}
	if len(started) != 1 || started[0].Level != "ERROR" {
		t.Errorf("outage start lines: %+v, want one at ERROR", started)
	}
	if len(still) != 1 || still[0].Level != "WARN" || still[0].Refused != senders*each+1 {
		t.Errorf("periodic lines: %+v, want one at WARN counting %d refused", still, senders*each+1)
	}
	if len(ended) != 1 || ended[0].Refused < senders*each+1 || ended[0].Refused != int64(refusedLines) {
		t.Errorf("outage end lines: %+v, want one counting every refused webhook (%d)", ended, refusedLines)
	}
	if t.Failed() {
		t.Logf("log:\n%s", bytes.TrimSpace([]byte(l.logs.String())))
	}
}
