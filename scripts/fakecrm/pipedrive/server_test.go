package pipedrive

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// do sends one request to the fake and decodes its JSON reply.
func do(t *testing.T, s *Server, method, target, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var reply map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %q", method, target, rec.Body.String())
	}
	return rec.Code, rec.Header(), reply
}

func data(reply map[string]any) map[string]any {
	d, _ := reply["data"].(map[string]any)
	return d
}

func TestAuthentication(t *testing.T) {
	s := New(Config{Token: "tok"})
	code, _, reply := do(t, s, "GET", "/api/v2/persons/1", "")
	if code != 401 || reply["error"] != "unauthorized access" || reply["success"] != false {
		t.Fatalf("no token: %d %v", code, reply)
	}
	if code, _, _ := do(t, s, "GET", "/api/v2/persons/1", "", "X-Api-Token", "nope"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, _, _ := do(t, s, "GET", "/api/v2/persons/1", "", "x-api-token", "tok"); code != 404 {
		t.Fatalf("header token: %d, want 404 (no such person)", code)
	}
	if code, _, _ := do(t, s, "GET", "/api/v2/persons/1?api_token=tok", ""); code != 404 {
		t.Fatalf("query token: %d, want 404", code)
	}
	if s.Calls() != 4 {
		t.Fatalf("Calls = %d, want 4", s.Calls())
	}
}

func TestPersonLifecycle(t *testing.T) {
	s := New(Config{})
	code, _, reply := do(t, s, "POST", "/api/v2/persons", `{"name":"Jane Doe","emails":[{"value":"Jane@Example.com","primary":true,"label":"work"}],"phones":[{"value":"+15550100"}],"custom_fields":{"dcf558aac1ae4e8c4f849ba5e668430d8df9be12":"gold"}}`)
	if code != 200 || data(reply)["id"] != float64(1) || data(reply)["first_name"] != "Jane" {
		t.Fatalf("create: %d %v", code, reply)
	}
	code, _, reply = do(t, s, "GET", "/api/v2/persons/search?term=jane%40example.COM&fields=email&exact_match=true", "")
	items, _ := data(reply)["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("search: %d %v", code, reply)
	}
	item := items[0].(map[string]any)["item"].(map[string]any)
	if item["id"] != float64(1) || item["emails"].([]any)[0] != "Jane@Example.com" {
		t.Fatalf("search item: %v", item)
	}
	// Emails sent replace the list; the index follows.
	code, _, reply = do(t, s, "PATCH", "/api/v2/persons/1", `{"emails":[{"value":"jd@example.com"}],"custom_fields":{"dcf558aac1ae4e8c4f849ba5e668430d8df9be12":null}}`)
	if code != 200 {
		t.Fatalf("patch: %d %v", code, reply)
	}
	if _, _, reply = do(t, s, "GET", "/api/v2/persons/search?term=jane@example.com&exact_match=true", ""); len(data(reply)["items"].([]any)) != 0 {
		t.Fatalf("old email still found: %v", reply)
	}
	p := s.Persons()[0]
	if p.Name != "Jane Doe" || p.Emails[0] != "jd@example.com" || p.Phones[0] != "+15550100" || len(p.CustomFields) != 0 {
		t.Fatalf("person after patch: %+v", p)
	}
	if code, _, _ := do(t, s, "DELETE", "/api/v2/persons/1", ""); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	code, _, reply = do(t, s, "PATCH", "/api/v2/persons/1", `{"name":"X"}`)
	if code != 404 || reply["error"] != "Person not found" {
		t.Fatalf("patch deleted: %d %v", code, reply)
	}
}

func TestPersonValidation(t *testing.T) {
	s := New(Config{})
	for body, want := range map[string]string{
		`{"emails":[{"value":"a@b.c"}]}`:                            "name",
		`{"name":"A","email":"a@b.c"}`:                              "email: Parameter is not allowed",
		`{"name":"A","custom_fields":{"industry":"x"}}`:             "Unknown custom field key 'industry'",
		`{"name":"A","emails":[{"value":""}]}`:                      "emails[0].value",
		`{"name":"A","emails":"a@b.c"}`:                             "emails: must be an array",
		`not json`:                                                  "JSON object",
		`{"name":"A","emails":[{"value":"a@b.c","primary":"yes"}]}`: "primary",
	} {
		code, _, reply := do(t, s, "POST", "/api/v2/persons", body)
		msg, _ := reply["error"].(string)
		if code != 400 || !strings.Contains(msg, want) || reply["success"] != false {
			t.Errorf("%s: %d %v, want 400 with %q", body, code, reply, want)
		}
	}
	s.SetReject(func(p map[string]any) string {
		if p["name"] == "Bad" {
			return "Invalid email address"
		}
		return ""
	})
	if code, _, reply := do(t, s, "POST", "/api/v2/persons", `{"name":"Bad"}`); code != 400 || reply["error"] != "Invalid email address" {
		t.Fatalf("reject hook: %d %v", code, reply)
	}
	s.SetReject(nil)
	if code, _, _ := do(t, s, "POST", "/api/v2/persons", `{"name":"Bad"}`); code != 200 {
		t.Fatalf("after clearing the hook: %d", code)
	}
	if n := len(s.Persons()); n != 1 {
		t.Fatalf("%d persons stored, want 1", n)
	}
}

func TestLeads(t *testing.T) {
	s := New(Config{})
	jane := s.AddPerson("Jane", "jane@example.com")
	other := s.AddPerson("Other", "")
	code, _, reply := do(t, s, "POST", "/v1/leads", fmt.Sprintf(`{"title":"Jane lead","person_id":%d,"origin_id":"o-1"}`, jane.ID))
	id, _ := data(reply)["id"].(string)
	if code != 201 || len(id) != 36 || data(reply)["source_name"] != "API" || data(reply)["origin_id"] != "o-1" {
		t.Fatalf("create: %d %v", code, reply)
	}
	for i := 0; i < 3; i++ {
		do(t, s, "POST", "/api/v1/leads", fmt.Sprintf(`{"title":"more %d","person_id":%d}`, i, jane.ID))
	}
	do(t, s, "POST", "/v1/leads", fmt.Sprintf(`{"title":"not Jane's","person_id":%d}`, other.ID))
	if code, _, reply := do(t, s, "POST", "/v1/leads", `{"title":"nobody's","person_id":999}`); code != 400 {
		t.Fatalf("unknown person: %d %v", code, reply)
	}
	if code, _, reply := do(t, s, "POST", "/v1/leads", fmt.Sprintf(`{"person_id":%d}`, jane.ID)); code != 400 {
		t.Fatalf("no title: %d %v", code, reply)
	}
	// Archived leads are not listed.
	if code, _, _ := do(t, s, "PATCH", "/v1/leads/"+id, `{"title":"Renamed","is_archived":true}`); code != 200 {
		t.Fatalf("patch: %d", code)
	}
	code, _, reply = do(t, s, "GET", fmt.Sprintf("/v1/leads?person_id=%d&limit=2", jane.ID), "")
	page, _ := reply["data"].([]any)
	extra, _ := reply["additional_data"].(map[string]any)
	if code != 200 || len(page) != 2 || extra["more_items_in_collection"] != true || page[0].(map[string]any)["title"] != "more 0" {
		t.Fatalf("page 1: %d %v", code, reply)
	}
	_, _, reply = do(t, s, "GET", fmt.Sprintf("/v1/leads?person_id=%d&limit=2&start=2", jane.ID), "")
	page, _ = reply["data"].([]any)
	if len(page) != 1 || reply["additional_data"].(map[string]any)["more_items_in_collection"] != false {
		t.Fatalf("page 2: %v", reply)
	}
	if _, _, reply := do(t, s, "GET", "/v1/leads/"+id, ""); data(reply)["title"] != "Renamed" || data(reply)["is_archived"] != true {
		t.Fatalf("get archived: %v", reply)
	}
	code, _, reply = do(t, s, "GET", "/v1/leads/5c5e5a1e-0000-0000-0000-000000000000", "")
	if code != 404 || reply["error"] != "requested lead not found" {
		t.Fatalf("missing lead: %d %v", code, reply)
	}
	// Deleting a person takes its leads.
	do(t, s, "DELETE", fmt.Sprintf("/api/v2/persons/%d", jane.ID), "")
	if leads := s.Leads(); len(leads) != 1 || leads[0].PersonID != other.ID {
		t.Fatalf("leads after deleting Jane: %+v", leads)
	}
}

func TestBurstLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := New(Config{BurstLimit: 3, BurstWindow: 2 * time.Second, SearchBurstLimit: 1})
	s.now = func() time.Time { return now }
	search := "/api/v2/persons/search?term=a@b.c&exact_match=true"
	if code, _, _ := do(t, s, "GET", search, ""); code != 200 {
		t.Fatalf("first search: %d", code)
	}
	code, h, reply := do(t, s, "GET", search, "")
	if code != 429 || h.Get("Retry-After") != "" || reply["error"] != msgBurst {
		t.Fatalf("second search in the window: %d %v %v", code, h, reply)
	}
	do(t, s, "GET", "/api/v2/persons/1", "")
	do(t, s, "GET", "/api/v2/persons/1", "")
	if code, h, _ := do(t, s, "GET", "/api/v2/persons/1", ""); code != 429 || h.Get("X-Ratelimit-Remaining") != "0" {
		t.Fatalf("fourth request in the window: %d %v", code, h)
	}
	now = now.Add(2 * time.Second)
	if code, _, _ := do(t, s, "GET", search, ""); code != 200 {
		t.Fatalf("search after the window rolled on: %d", code)
	}
	if s.Throttled() != 2 || s.Calls() != 6 {
		t.Fatalf("Throttled %d Calls %d, want 2 and 6", s.Throttled(), s.Calls())
	}
}

func TestDailyBudget(t *testing.T) {
	s := New(Config{DailyBudget: 26})
	search := "/api/v2/persons/search?term=a@b.c&exact_match=true"
	do(t, s, "GET", search, "")                         // 20
	do(t, s, "POST", "/api/v2/persons", `{"name":"A"}`) // 25
	_, h, _ := do(t, s, "GET", "/api/v2/persons/1", "") // 26
	if h.Get("X-Daily-Ratelimit-Token-Remaining") != "0" || s.TokensSpent() != 26 {
		t.Fatalf("remaining %q, spent %d", h.Get("X-Daily-Ratelimit-Token-Remaining"), s.TokensSpent())
	}
	code, h, reply := do(t, s, "GET", "/api/v2/persons/1", "")
	if code != 429 || h.Get("X-Daily-Ratelimit-Token-Remaining") != "0" || reply["error"] != msgDaily {
		t.Fatalf("over budget: %d %v %v", code, h, reply)
	}
	s.ResetDaily()
	if code, _, _ := do(t, s, "GET", "/api/v2/persons/1", ""); code != 200 {
		t.Fatalf("after the reset: %d", code)
	}
}

func TestUnknownRoute(t *testing.T) {
	s := New(Config{})
	if code, _, reply := do(t, s, "PUT", "/api/v2/persons/1", "{}"); code != 404 || reply["success"] != false {
		t.Fatalf("PUT person: %d %v", code, reply)
	}
}

// TestManyPersons checks that lookups go through the indexes: 50,000 persons, then a search
// and a lead listing per person would take far longer if each scanned the store.
func TestManyPersons(t *testing.T) {
	s := New(Config{})
	const n = 50_000
	for i := 0; i < n; i++ {
		s.AddPerson("P", fmt.Sprintf("p%d@example.com", i))
	}
	start := time.Now()
	for i := 0; i < 2_000; i++ {
		_, _, reply := do(t, s, "GET", fmt.Sprintf("/api/v2/persons/search?term=P%d@example.com&fields=email&exact_match=true", i*7), "")
		if len(data(reply)["items"].([]any)) != 1 {
			t.Fatalf("search %d: %v", i, reply)
		}
		do(t, s, "GET", fmt.Sprintf("/v1/leads?person_id=%d", i+1), "")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("4,000 requests over %d persons took %v", n, d)
	}
}

func TestConcurrentWrites(t *testing.T) {
	s := New(Config{})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", "/api/v2/persons", strings.NewReader(fmt.Sprintf(`{"name":"P%d","emails":[{"value":"p%d@x.io"}]}`, i, i)))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var reply struct{ Data struct{ ID int } }
			_ = json.Unmarshal(rec.Body.Bytes(), &reply)
			req = httptest.NewRequest("POST", "/v1/leads", strings.NewReader(fmt.Sprintf(`{"title":"L","person_id":%d}`, reply.Data.ID)))
			s.ServeHTTP(httptest.NewRecorder(), req)
		}()
	}
	wg.Wait()
	if len(s.Persons()) != 20 || len(s.Leads()) != 20 {
		t.Fatalf("%d persons, %d leads, want 20 each", len(s.Persons()), len(s.Leads()))
	}
}
