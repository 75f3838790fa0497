package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/salesforce"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

func TestCreateThenUpdate(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	ctx := context.Background()

	out, err := c.Upsert(ctx, []crm.Record{lead("jane@acme.io", "LastName", "Doe", "FirstName", "Jane")})
	if err != nil || len(out) != 1 || out[0].Err != nil || !out[0].Created || out[0].ExternalID == "" {
		t.Fatalf("create: %+v %v", out, err)
	}
	id := out[0].ExternalID
	// An empty value is left out: it never blanks the field in Salesforce.
	out, err = c.Upsert(ctx, []crm.Record{lead("jane@acme.io", "LastName", "Doe", "FirstName", "", "Phone", "+15550100")})
	if err != nil || out[0].Err != nil || out[0].Created || out[0].ExternalID != id {
		t.Fatalf("update: %+v %v", out, err)
	}
	leads := o.Leads()
	if len(leads) != 1 {
		t.Fatalf("%d Leads, want 1", len(leads))
	}
	f := leads[0].Fields
	if f["Ledger_Key__c"] != "jane@acme.io" || f["FirstName"] != "Jane" || f["Phone"] != "+15550100" || f["Company"] != "acme.io" {
		t.Errorf("fields %v", f)
	}
	if o.Calls() != 2 || o.TokenRequests() != 1 {
		t.Errorf("%d calls, %d token requests; want 2 and 1", o.Calls(), o.TokenRequests())
	}
}

func TestFullBatchIsOneCall(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	if c.MaxBatch() != 200 {
		t.Fatalf("MaxBatch = %d", c.MaxBatch())
	}
	records := make([]crm.Record, 201)
	for i := range records {
		records[i] = lead(fmt.Sprintf("p%03d@example.com", i))
	}
	if _, err := c.Upsert(context.Background(), records); err == nil {
		t.Fatal("201 records accepted")
	}
	out, err := c.Upsert(context.Background(), records[:200])
	if err != nil {
		t.Fatal(err)
	}
	for i, oc := range out {
		if oc.Err != nil || !oc.Created {
			t.Fatalf("record %d: %+v", i, oc)
		}
		if l, ok := o.Lead("Ledger_Key__c", records[i].Key); !ok || l.ID != oc.ExternalID {
			t.Fatalf("record %d: outcome %s, org %v %v", i, oc.ExternalID, l, ok)
		}
	}
	if o.Calls() != 1 || len(o.Leads()) != 200 {
		t.Errorf("%d calls, %d Leads; want 1 and 200", o.Calls(), len(o.Leads()))
	}
	if out, err := c.Upsert(context.Background(), nil); out != nil || err != nil || o.Calls() != 1 {
		t.Errorf("an empty batch made a call or failed: %v %v", out, err)
	}
}

func TestRequiredFieldsFilled(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	records := []crm.Record{
		{Key: "a@Sub.Example.COM", Fields: map[string]string{"Email": "a@Sub.Example.COM"}},
		{Key: "b@keyonly.org", Fields: map[string]string{"FirstName": "B"}},
		{Key: "lead-42", Fields: map[string]string{"Phone": "+15550142"}},
		{Key: "c@x.org", Fields: map[string]string{"Email": "c@x.org", "LastName": "Kept", "Company": "Kept Inc"}},
		{Key: "d@y.org", Fields: map[string]string{"Email": "d@y.org", "LastName": "", "Company": ""}},
	}
	out, err := c.Upsert(context.Background(), records)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"[not provided]", "sub.example.com"},
		{"[not provided]", "keyonly.org"},
		{"[not provided]", "[not provided]"},
		{"Kept", "Kept Inc"},
		{"[not provided]", "y.org"},
	}
	for i, w := range want {
		if out[i].Err != nil {
			t.Fatalf("record %d: %v", i, out[i].Err)
		}
		l, _ := o.Lead("Ledger_Key__c", records[i].Key)
		if l.Fields["LastName"] != w[0] || l.Fields["Company"] != w[1] {
			t.Errorf("record %d: LastName %q Company %q, want %q %q", i, l.Fields["LastName"], l.Fields["Company"], w[0], w[1])
		}
	}
}

func TestRecordErrorsLeaveOthersWritten(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{DuplicateRule: true})
	c := o.client(t)
	ctx := context.Background()
	if _, err := c.Upsert(ctx, []crm.Record{lead("taken@example.com")}); err != nil {
		t.Fatal(err)
	}
	o.InsertDuplicateKey("Ledger_Key__c", "twice@example.com")
	o.SetReject(func(f map[string]string) (string, string) {
		if f["Industry"] == "" && f["Email"] == "noindustry@example.com" {
			return "REQUIRED_FIELD_MISSING", "Required fields are missing: [Industry]"
		}
		return "", ""
	})
	records := []crm.Record{
		lead("ok1@example.com"),
		// Another key with the email of an existing Lead: the duplicate rule refuses it.
		{Key: "lead-7", Fields: map[string]string{"Email": "taken@example.com", "LastName": "Dup"}},
		lead("noindustry@example.com"),
		lead("twice@example.com"),
		lead("not-an-email@nowhere"),
		lead("ok2@example.com"),
	}
	out, err := c.Upsert(ctx, records)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "DUPLICATES_DETECTED", "REQUIRED_FIELD_MISSING", "DUPLICATE_EXTERNAL_ID", "INVALID_EMAIL_ADDRESS", ""}
	for i, w := range want {
		if w == "" {
			if out[i].Err != nil || out[i].ExternalID == "" || !out[i].Created {
				t.Errorf("record %d: %+v", i, out[i])
			}
			continue
		}
		rerr, ok := errors.AsType[*salesforce.RecordError](out[i].Err)
		if !ok || rerr.StatusCode != w || out[i].ExternalID != "" {
			t.Errorf("record %d: %+v, want %s", i, out[i], w)
			continue
		}
		t.Logf("record %d: %v", i, out[i].Err)
	}
	if rerr, _ := errors.AsType[*salesforce.RecordError](out[2].Err); rerr.Error() != "REQUIRED_FIELD_MISSING: Required fields are missing: [Industry]" {
		t.Errorf("the text is not Salesforce's own: %q", rerr.Error())
	}
}
