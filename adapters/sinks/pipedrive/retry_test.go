package pipedrive_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
)

func threeRecords() []crm.Record {
	var records []crm.Record
	for _, name := range []string{"ann", "bob", "cy"} {
		email := name + "@example.com"
		records = append(records, crm.Record{Key: email, Fields: map[string]string{"name": name, "email": email}})
	}
	return records
}

// checkWritten asserts one person and one lead per record, linked, and outcomes to match.
func checkWritten(t *testing.T, fake *fakepipedrive.Server, records []crm.Record, out []crm.Outcome) {
	t.Helper()
	counts(t, fake, len(records), len(records))
	persons, leads := fake.Persons(), fake.Leads()
	for i := range records {
		if out[i].Err != nil || out[i].ExternalID != fmt.Sprint(persons[i].ID) ||
			out[i].ExternalIDs["lead_id"] != leads[i].ID || leads[i].PersonID != persons[i].ID {
			t.Fatalf("record %d: outcome %+v, person %+v, lead %+v", i, out[i], persons[i], leads[i])
		}
	}
}

// TestThrottledMidCallRetryResumes: the day's budget runs out at the second record's lead;
// the retry (next day) spends nothing on the first record and no lookup on the second.
func TestThrottledMidCallRetryResumes(t *testing.T) {
	// A new record costs search 20 + person 5 + lead 10: the 60th token is the second lead's.
	fake, c, _ := setup(t, fakepipedrive.Config{DailyBudget: 60})
	records := threeRecords()
	_, err := c.Upsert(context.Background(), records)
	var th *crm.Throttled
	if !errors.As(err, &th) || !th.Daily || th.RetryAfter != 0 {
		t.Fatalf("err = %v, want a daily *crm.Throttled", err)
	}
	counts(t, fake, 2, 1)

	fake.ResetDaily()
	calls := fake.Calls()
	out := upsert(t, c, records...)
	checkWritten(t, fake, records, out)
	// bob: read the person, create the lead; cy: search, create person, create lead.
	if n := fake.Calls() - calls; n != 2+3 {
		t.Fatalf("the retry made %d requests, want 5", n)
	}
	for i, o := range out {
		if !o.Created {
			t.Fatalf("record %d: Created is false, but its person was made for it", i)
		}
	}
}

// TestThrottledRetryAfterRestart: a new Client (a restarted process) knows nothing of the
// interrupted call; the lookups alone keep the retry from duplicating.
func TestThrottledRetryAfterRestart(t *testing.T) {
	fake, c, base := setup(t, fakepipedrive.Config{DailyBudget: 200})
	spend(t, base, 140) // 60 tokens left: the budget runs out at bob's lead, as above
	records := threeRecords()
	if _, err := c.Upsert(context.Background(), records); !isThrottled(err) {
		t.Fatalf("err = %v, want *crm.Throttled", err)
	}
	fake.ResetDaily()
	out := upsert(t, newClient(t, base), records...)
	checkWritten(t, fake, records, out)
}

// TestRetriesNeverDuplicate runs the batch under every budget from the smallest that lets a
// new record through in one day up to the batch's whole cost, retrying each next day: the 429
// falls on each request in turn, and the end state is always one person and one lead each.
func TestRetriesNeverDuplicate(t *testing.T) {
	for budget := 35; budget <= 110; budget++ {
		fake, c, _ := setup(t, fakepipedrive.Config{DailyBudget: budget})
		records := threeRecords()
		var out []crm.Outcome
		for day := 0; ; day++ {
			if day == 10 {
				t.Fatalf("budget %d: still throttled after 10 days", budget)
			}
			var err error
			if out, err = c.Upsert(context.Background(), records); err == nil {
				break
			}
			if !isThrottled(err) {
				t.Fatalf("budget %d: %v", budget, err)
			}
			fake.ResetDaily()
		}
		checkWritten(t, fake, records, out)
	}
}

// TestSearchIndexLag: Pipedrive's search may not show a person created a moment ago. Two
// records with one email (key lead_id), and a retry after an interruption, still make one
// person, since the Client remembers the persons it created.
func TestSearchIndexLag(t *testing.T) {
	fake := fakepipedrive.New(fakepipedrive.Config{Token: token, DailyBudget: 36})
	lagging := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/persons/search" {
			_, _ = w.Write([]byte(`{"success":true,"data":{"items":[]},"additional_data":{"next_cursor":null}}`))
			return
		}
		fake.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(lagging)
	defer srv.Close()
	c := newClient(t, srv.URL)
	records := []crm.Record{
		{Key: "lead-1", Fields: map[string]string{"email": "dana@example.com", "title": "First enquiry"}},
		{Key: "lead-2", Fields: map[string]string{"email": "dana@example.com", "title": "Second enquiry"}},
	}
	// The searches cost nothing here: person 5 + lead 10, then person read 1 + lead list 20
	// make 36, and the budget runs out at the second lead.
	if _, err := c.Upsert(context.Background(), records); !isThrottled(err) {
		t.Fatalf("err = %v, want *crm.Throttled", err)
	}
	fake.ResetDaily()
	out := upsert(t, c, records...)
	counts(t, fake, 1, 2)
	if out[0].ExternalID != out[1].ExternalID || !out[0].Created || out[1].Created {
		t.Fatalf("outcomes %+v", out)
	}
}

func TestBurstLimitIsNotDaily(t *testing.T) {
	_, c, _ := setup(t, fakepipedrive.Config{BurstLimit: 4, BurstWindow: time.Minute})
	_, err := c.Upsert(context.Background(), threeRecords())
	var th *crm.Throttled
	if !errors.As(err, &th) || th.Daily || th.RetryAfter != 0 || th.Message != "Request over limit" {
		t.Fatalf("err = %#v, want a burst *crm.Throttled", err)
	}
}

func isThrottled(err error) bool {
	var th *crm.Throttled
	return errors.As(err, &th)
}

// spend uses up tokens of the fake's budget with searches (20 tokens each).
func spend(t *testing.T, base string, tokens int) {
	t.Helper()
	for ; tokens > 0; tokens -= 20 {
		send(t, http.MethodGet, base+"/api/v2/persons/search?term=nobody@example.com&fields=email&exact_match=true")
	}
}

// deleteVia deletes a person or a lead in the fake, as a user would in Pipedrive.
func deleteVia(t *testing.T, base, path string) {
	t.Helper()
	send(t, http.MethodDelete, base+path)
}

// post creates something in the fake, as a user would in Pipedrive.
func post(t *testing.T, target, body string) {
	t.Helper()
	send(t, http.MethodPost, target, body)
}

func send(t *testing.T, method, target string, body ...string) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(strings.Join(body, "")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d", method, target, resp.StatusCode)
	}
}
