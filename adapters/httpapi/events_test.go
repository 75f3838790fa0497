package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
)

func TestReadEvents(t *testing.T) {
	l := newLedger(t, "sqlite")
	body := exampleBody(t, "leadflo-visitor-created.json")
	for i := 0; i < 3; i++ {
		if status, reply := l.post(t, "/v1/ingest/leadflo", body, header("X-Webhook-Secret", leadfloSecret)); status != 200 {
			t.Fatalf("ingest: %d %v", status, reply)
		}
	}
	get := func(query, token string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, l.url+"/v1/events"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(t, req)
	}
	for _, c := range []struct {
		name, query, token string
		want               int
	}{
		{"no token", "", "", 401},
		{"wrong token", "", "not-a-token", 401},
		{"auditor", "", auditorToken, 200},
		{"operator", "", operatorToken, 200},
		{"negative after", "?after=-1", auditorToken, 400},
		{"after not a number", "?after=x", auditorToken, 400},
		{"limit zero", "?limit=0", auditorToken, 400},
		{"limit too large", "?limit=1001", auditorToken, 400},
		{"unknown type", "?type=LeadDeleted", auditorToken, 400},
	} {
		status, reply := get(c.query, c.token)
		if status != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, status, reply, c.want)
		}
		if status != 200 && reply["message"] == "" {
			t.Errorf("%s: error without a message", c.name)
		}
	}
	status, page := get("?limit=2", auditorToken)
	if status != 200 || len(page["events"].([]any)) != 2 {
		t.Fatalf("first page: %d %v", status, page)
	}
	next := page["next_after"].(float64)
	_, rest := get("?after="+strconv.FormatInt(int64(next), 10), auditorToken)
	if len(rest["events"].([]any)) != 1 {
		t.Fatalf("second page after %v has %d events, want 1", next, len(rest["events"].([]any)))
	}
	_, none := get("?type=ConversationEnded", auditorToken)
	if len(none["events"].([]any)) != 0 || none["next_after"].(float64) != 0 {
		t.Fatalf("type filter: %v", none)
	}
}
