package hubspot_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

const token = "pat-test"

// do sends one request to srv and decodes the reply.
func do(t *testing.T, srv http.Handler, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: reply %q: %v", method, path, rec.Body.String(), err)
	}
	return rec.Code, out
}

func upsertBody(idProperty string, ids ...string) string {
	var in []string
	for _, id := range ids {
		in = append(in, fmt.Sprintf(`{"idProperty":%q,"id":%q,"properties":{"email":%q}}`, idProperty, id, id))
	}
	return `{"inputs":[` + strings.Join(in, ",") + `]}`
}

func TestAuth(t *testing.T) {
	srv := fakehubspot.New(fakehubspot.Config{Token: token})
	for _, auth := range []string{"", "pat-wrong"} {
		code, body := do(t, srv, "GET", "/crm/v3/objects/contacts", auth, "")
		if code != 401 || body["status"] != "error" || body["category"] != "INVALID_AUTHENTICATION" || body["correlationId"] == "" {
			t.Fatalf("token %q: %d %v", auth, code, body)
		}
	}
	if code, _ := do(t, srv, "GET", "/crm/v3/objects/contacts", token, ""); code != 200 {
		t.Fatalf("right token: %d", code)
	}
}

func TestUniqueness(t *testing.T) {
	srv := fakehubspot.New(fakehubspot.Config{Token: token})
	code, created := do(t, srv, "POST", "/crm/v3/objects/contacts", token, `{"properties":{"email":"Ada@Example.com"}}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	code, body := do(t, srv, "POST", "/crm/v3/objects/contacts", token, `{"properties":{"email":"ada@example.COM"}}`)
	if code != 409 || body["category"] != "CONFLICT" || body["message"] != "Contact already exists. Existing ID: "+created["id"].(string) {
		t.Fatalf("second email: %d %v", code, body)
	}
	// By ledger_key, a new key with a taken email is refused whole, and nothing is written.
	code, body = do(t, srv, "POST", "/crm/v3/objects/contacts/batch/upsert", token,
		`{"inputs":[{"idProperty":"ledger_key","id":"k1","properties":{"email":"bob@example.com"}},
		            {"idProperty":"ledger_key","id":"k2","properties":{"email":"ada@example.com"}}]}`)
	if code != 409 || len(srv.Contacts()) != 1 {
		t.Fatalf("batch with a taken email: %d %v, %d contacts", code, body, len(srv.Contacts()))
	}
	for _, tc := range []struct{ body, want string }{
		{upsertBody("firstname", "a@example.com"), "non-unique"},
		{upsertBody("email", "a@example.com", "A@example.com"), "Duplicate IDs"},
		{upsertBody("email", "bad@@example.com"), "INVALID_EMAIL"},
		{upsertBody("email", strings.Split(strings.Repeat("x@example.com,", 101), ",")[:101]...), "exceeds"},
	} {
		code, body := do(t, srv, "POST", "/crm/v3/objects/contacts/batch/upsert", token, tc.body)
		if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("want 400 %q, got %d %v", tc.want, code, body)
		}
	}
	// Upserting by email finds the contact whatever the case.
	code, body = do(t, srv, "POST", "/crm/v3/objects/contacts/batch/upsert", token, upsertBody("email", "ADA@example.com"))
	results, _ := body["results"].([]any)
	if code != 200 || len(results) != 1 || results[0].(map[string]any)["new"] != false || len(srv.Contacts()) != 1 {
		t.Fatalf("upsert by email: %d %v", code, body)
	}
}

func TestPagingAndRead(t *testing.T) {
	srv := fakehubspot.New(fakehubspot.Config{})
	for i := range 25 {
		if _, err := srv.Seed(map[string]string{"email": fmt.Sprintf("p%02d@example.com", i), "ledger_key": fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	path := "/crm/v3/objects/contacts?limit=10&properties=email"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		_, body := do(t, srv, "GET", path, "", "")
		for _, r := range body["results"].([]any) {
			seen = append(seen, r.(map[string]any)["properties"].(map[string]any)["email"].(string))
		}
		path = ""
		if p, ok := body["paging"].(map[string]any); ok {
			path = "/crm/v3/objects/contacts?limit=10&properties=email&after=" + p["next"].(map[string]any)["after"].(string)
		}
	}
	if len(seen) != 25 || seen[0] != "p00@example.com" || seen[24] != "p24@example.com" {
		t.Fatalf("paged %d: %v", len(seen), seen)
	}
	code, body := do(t, srv, "GET", "/crm/v3/objects/contacts/k3?idProperty=ledger_key&properties=ledger_key", "", "")
	if code != 200 || body["properties"].(map[string]any)["ledger_key"] != "k3" {
		t.Fatalf("read by ledger_key: %d %v", code, body)
	}
	if code, body := do(t, srv, "PATCH", "/crm/v3/objects/contacts/999999", "", `{"properties":{}}`); code != 404 {
		t.Fatalf("patch unknown: %d %v", code, body)
	}
}

func TestRateLimits(t *testing.T) {
	srv := fakehubspot.New(fakehubspot.Config{RateLimit: 2, RateWindow: 400 * time.Millisecond, DailyLimit: 3})
	get := func() (int, map[string]any) { return do(t, srv, "GET", "/crm/v3/objects/contacts", "", "") }
	get()
	get()
	if code, body := get(); code != 429 || body["policyName"] != "TEN_SECONDLY_ROLLING" || body["errorType"] != "RATE_LIMIT" {
		t.Fatalf("third in the window: %d %v", code, body)
	}
	time.Sleep(450 * time.Millisecond)
	if code, _ := get(); code != 200 {
		t.Fatalf("after the window: %d", code)
	}
	if code, body := get(); code != 429 || body["policyName"] != "DAILY" {
		t.Fatalf("over the day: %d %v", code, body)
	}
	srv.ResetDaily()
	if code, _ := get(); code != 200 {
		t.Fatalf("after ResetDaily: %d", code)
	}
	if srv.Calls() != 6 || srv.Throttled() != 2 {
		t.Fatalf("calls %d, throttled %d", srv.Calls(), srv.Throttled())
	}
}

// BenchmarkBatchUpsert writes batches of 100 new contacts, as a replay does.
func BenchmarkBatchUpsert(b *testing.B) {
	srv := fakehubspot.New(fakehubspot.Config{Token: token})
	n := 0
	for b.Loop() {
		var in []string
		for range 100 {
			n++
			in = append(in, fmt.Sprintf(`{"idProperty":"ledger_key","id":"k%d","properties":{"email":"p%d@example.com","firstname":"P"}}`, n, n))
		}
		req := httptest.NewRequest("POST", "/crm/v3/objects/contacts/batch/upsert", strings.NewReader(`{"inputs":[`+strings.Join(in, ",")+`]}`))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
