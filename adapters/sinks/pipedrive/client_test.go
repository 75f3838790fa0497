package pipedrive_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/pipedrive"
	fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
)

const (
	token    = "tok-3f9a8c1d2e7b"
	industry = "dcf558aac1ae4e8c4f849ba5e668430d8df9be12" // a custom field key's shape
)

// setup starts a fake Pipedrive and a Client for it.
func setup(t *testing.T, cfg fakepipedrive.Config) (*fakepipedrive.Server, *pipedrive.Client, string) {
	t.Helper()
	cfg.Token = token
	fake := fakepipedrive.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, newClient(t, srv.URL), srv.URL
}

func newClient(t *testing.T, base string) *pipedrive.Client {
	t.Helper()
	c, err := pipedrive.New(pipedrive.Config{BaseURL: base, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func upsert(t *testing.T, c *pipedrive.Client, records ...crm.Record) []crm.Outcome {
	t.Helper()
	out, err := c.Upsert(context.Background(), records)
	if err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if len(out) != len(records) {
		t.Fatalf("%d outcomes for %d records", len(out), len(records))
	}
	return out
}

func jane() crm.Record {
	return crm.Record{Key: "jane@example.com", Fields: map[string]string{
		"name": "Jane Doe", "email": "jane@example.com", "phone": "+1 555 0100", industry: "Software",
	}}
}

// remembered is the record as the ledger sends it after storing an outcome's ids.
func remembered(r crm.Record, out crm.Outcome) crm.Record {
	r.ExternalIDs = out.ExternalIDs
	return r
}

func counts(t *testing.T, fake *fakepipedrive.Server, persons, leads int) {
	t.Helper()
	if p, l := len(fake.Persons()), len(fake.Leads()); p != persons || l != leads {
		t.Fatalf("%d persons and %d leads in Pipedrive, want %d and %d", p, l, persons, leads)
	}
}

func TestCreatesPersonAndLead(t *testing.T) {
	fake, c, _ := setup(t, fakepipedrive.Config{})
	out := upsert(t, c, jane())[0]
	counts(t, fake, 1, 1)
	p, l := fake.Persons()[0], fake.Leads()[0]
	if out.Err != nil || !out.Created || out.ExternalID != strconv.Itoa(p.ID) ||
		out.ExternalIDs["person_id"] != out.ExternalID || out.ExternalIDs["lead_id"] != l.ID {
		t.Fatalf("outcome %+v for person %d, lead %s", out, p.ID, l.ID)
	}
	if p.Name != "Jane Doe" || !slices.Equal(p.Emails, []string{"jane@example.com"}) ||
		!slices.Equal(p.Phones, []string{"+1 555 0100"}) || p.CustomFields[industry] != "Software" {
		t.Fatalf("person %+v", p)
	}
	if l.Title != "Jane Doe" || l.PersonID != p.ID || l.OriginID == "" {
		t.Fatalf("lead %+v", l)
	}
}

func TestSecondUpsertUpdatesWithoutDuplicates(t *testing.T) {
	fake, c, base := setup(t, fakepipedrive.Config{})
	first := upsert(t, c, jane())[0]

	// With the remembered ids, an unchanged record only reads: no write spends tokens.
	spent := fake.TokensSpent()
	again := upsert(t, c, remembered(jane(), first))[0]
	if again.Created || again.ExternalIDs["lead_id"] != first.ExternalIDs["lead_id"] {
		t.Fatalf("unchanged record: %+v", again)
	}
	if cost := fake.TokensSpent() - spent; cost != 1+2 {
		t.Fatalf("unchanged record cost %d tokens, want 3 (read person, read lead)", cost)
	}

	// A change updates the person and the lead's title.
	changed := remembered(jane(), first)
	changed.Fields["name"] = "Jane Smith"
	changed.Fields["phone"] = "+15550199"
	out := upsert(t, c, changed)[0]
	counts(t, fake, 1, 1)
	p, l := fake.Persons()[0], fake.Leads()[0]
	if out.Created || out.ExternalID != first.ExternalID || p.Name != "Jane Smith" || l.Title != "Jane Smith" ||
		!slices.Equal(p.Phones, []string{"+1 555 0100", "+15550199"}) {
		t.Fatalf("after a change: outcome %+v, person %+v, lead %+v", out, p, l)
	}

	// Without ids (lost, or another sink): the search finds the person, the origin the lead.
	changed.ExternalIDs = nil
	changed.Fields["title"] = "Inbound: Jane"
	out = upsert(t, newClient(t, base), changed)[0]
	counts(t, fake, 1, 1)
	if out.Created || out.ExternalID != first.ExternalID || out.ExternalIDs["lead_id"] != first.ExternalIDs["lead_id"] ||
		fake.Leads()[0].Title != "Inbound: Jane" {
		t.Fatalf("without ids: %+v, lead %+v", out, fake.Leads()[0])
	}
}

func TestReusesPersonFoundByEmail(t *testing.T) {
	fake, c, base := setup(t, fakepipedrive.Config{})
	existing := fake.AddPerson("J. Doe", "JANE@Example.com")
	fake.AddPerson("Someone else", "someone@example.com")
	// A lead a salesperson made for Jane is not the record's: the record gets its own.
	post(t, base+"/v1/leads", fmt.Sprintf(`{"title":"Met at the fair","person_id":%d}`, existing.ID))
	out := upsert(t, c, jane())[0]
	counts(t, fake, 2, 2)
	p, l := fake.Persons()[0], fake.Leads()[1]
	if out.Created || out.ExternalID != strconv.Itoa(existing.ID) || out.ExternalIDs["lead_id"] != l.ID ||
		l.PersonID != existing.ID || fake.Leads()[0].Title != "Met at the fair" {
		t.Fatalf("outcome %+v, leads %+v", out, fake.Leads())
	}
	// The person's own email stays (the search ignores case, so none is added).
	if p.Name != "Jane Doe" || !slices.Equal(p.Emails, []string{"JANE@Example.com"}) {
		t.Fatalf("person %+v", p)
	}
}

func TestDuplicatePersonsPickTheOldest(t *testing.T) {
	fake, c, _ := setup(t, fakepipedrive.Config{})
	oldest := fake.AddPerson("Jane", "jane@example.com")
	fake.AddPerson("Jane again", "jane@example.com")
	out := upsert(t, c, jane())[0]
	if out.ExternalID != strconv.Itoa(oldest.ID) {
		t.Fatalf("took person %s, want the oldest, %d", out.ExternalID, oldest.ID)
	}
}

func TestRecordRejectedBesideSuccesses(t *testing.T) {
	fake, c, _ := setup(t, fakepipedrive.Config{})
	fake.SetReject(func(p map[string]any) string {
		if p["name"] == "Bad Email" {
			return "Invalid email address"
		}
		return ""
	})
	bad := crm.Record{Key: "bad@", Fields: map[string]string{"name": "Bad Email", "email": "bad@"}}
	unknownField := crm.Record{Key: "x@example.com", Fields: map[string]string{"email": "x@example.com", "industry": "retail"}}
	ok := crm.Record{Key: "ok@example.com", Fields: map[string]string{"email": "ok@example.com"}}
	out := upsert(t, c, jane(), bad, unknownField, ok)
	if out[0].Err != nil || out[3].Err != nil || out[3].ExternalID == "" {
		t.Fatalf("the good records failed: %+v", out)
	}
	if out[1].Err == nil || out[1].Err.Error() != "Invalid email address" {
		t.Fatalf("rejected record: %+v", out[1])
	}
	if out[2].Err == nil || out[2].Err.Error() != "Validation failed: custom_fields: Unknown custom field key 'industry'" {
		t.Fatalf("unknown custom field: %+v", out[2])
	}
	counts(t, fake, 2, 2)
	if l := fake.Leads()[1]; l.Title != "ok@example.com" {
		t.Fatalf("lead of a record without name: %+v", l)
	}
}

func TestRememberedIDsGone(t *testing.T) {
	fake, c, base := setup(t, fakepipedrive.Config{})
	first := upsert(t, c, jane())[0]

	// The lead deleted in Pipedrive: the person stays, a new lead is made for it.
	deleteVia(t, base, "/v1/leads/"+first.ExternalIDs["lead_id"])
	out := upsert(t, c, remembered(jane(), first))[0]
	counts(t, fake, 1, 1)
	if out.ExternalID != first.ExternalID || out.ExternalIDs["lead_id"] == first.ExternalIDs["lead_id"] || out.Created {
		t.Fatalf("after the lead's deletion: %+v", out)
	}

	// The person deleted (its leads with it): both are made again, by email.
	deleteVia(t, base, "/api/v2/persons/"+out.ExternalID)
	again := upsert(t, c, remembered(jane(), out))[0]
	counts(t, fake, 1, 1)
	if !again.Created || again.ExternalID == out.ExternalID || fake.Leads()[0].PersonID != fake.Persons()[0].ID {
		t.Fatalf("after the person's deletion: %+v", again)
	}
}

// TestLeadMovedToAnotherPerson: a user linked the record's lead to someone else; that lead is
// left as it is and the record's person gets a lead again.
func TestLeadMovedToAnotherPerson(t *testing.T) {
	fake, c, base := setup(t, fakepipedrive.Config{})
	first := upsert(t, c, jane())[0]
	other := fake.AddPerson("Other", "other@example.com")
	send(t, http.MethodPatch, base+"/v1/leads/"+first.ExternalIDs["lead_id"], fmt.Sprintf(`{"person_id":%d,"title":"Other's now"}`, other.ID))
	out := upsert(t, c, remembered(jane(), first))[0]
	counts(t, fake, 2, 2)
	moved, l := fake.Leads()[0], fake.Leads()[1]
	if out.ExternalID != first.ExternalID || out.ExternalIDs["lead_id"] != l.ID || l.PersonID != fake.Persons()[0].ID ||
		moved.Title != "Other's now" || moved.PersonID != other.ID {
		t.Fatalf("outcome %+v, leads %+v", out, fake.Leads())
	}
}

func TestRecordWithoutEmail(t *testing.T) {
	fake, c, _ := setup(t, fakepipedrive.Config{})
	r := crm.Record{Key: "0b7e3c2a-lead", Fields: map[string]string{"phone": "+44 20 7946 0000"}}
	first := upsert(t, c, r)[0]
	if p := fake.Persons()[0]; p.Name != "0b7e3c2a-lead" || len(p.Emails) != 0 {
		t.Fatalf("person %+v", p)
	}
	r.Fields["name"] = "Ann"
	r.Fields["email"] = "ann@example.com"
	out := upsert(t, c, remembered(r, first))[0]
	counts(t, fake, 1, 1)
	if p := fake.Persons()[0]; out.ExternalID != first.ExternalID || p.Name != "Ann" || !slices.Equal(p.Emails, []string{"ann@example.com"}) {
		t.Fatalf("outcome %+v, person %+v", out, p)
	}
}

func TestManyRecordsOneCall(t *testing.T) {
	fake, c, _ := setup(t, fakepipedrive.Config{})
	var records []crm.Record
	for i := 0; i < c.MaxBatch(); i++ {
		email := fmt.Sprintf("p%d@example.com", i)
		records = append(records, crm.Record{Key: email, Fields: map[string]string{"email": email}})
	}
	out := upsert(t, c, records...)
	counts(t, fake, c.MaxBatch(), c.MaxBatch())
	for i, o := range out {
		if o.Err != nil || !o.Created || fake.Persons()[i].Emails[0] != records[i].Key {
			t.Fatalf("record %d: %+v", i, o)
		}
	}
}
