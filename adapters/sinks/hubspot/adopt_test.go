package hubspot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/hubspot"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

func TestConflictAdopted(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{AdoptExisting: true})
	existing, err := srv.Seed(map[string]string{"email": "grace@example.com", "lastname": "Hopper"})
	if err != nil {
		t.Fatal(err)
	}
	// With key lead_id the key is not the email, so the upsert tries to create a second
	// contact with Grace's email, and HubSpot refuses it with 409.
	grace := crm.Record{Key: "lead-7", Fields: map[string]string{"email": "Grace@example.com", "firstname": "Grace"}}
	out := upsert(t, c, person("new@example.com", "New"), grace, person("other@example.com", "Other"))
	if o := out[1]; o.Err != nil || o.ExternalID != existing.ID || o.Created {
		t.Fatalf("adopted outcome %+v, want contact %s", o, existing.ID)
	}
	for _, i := range []int{0, 2} {
		if o := out[i]; o.Err != nil || !o.Created {
			t.Fatalf("outcome %d: %+v", i, o)
		}
	}
	got, _ := srv.Contact("ledger_key", "lead-7")
	if got.ID != existing.ID || got.Properties["firstname"] != "Grace" || got.Properties["lastname"] != "Hopper" {
		t.Fatalf("adopted contact %+v", got)
	}
	// Now the key finds the contact: no conflict, one request.
	calls := srv.Calls()
	if o := upsert(t, c, grace)[0]; o.Err != nil || o.ExternalID != existing.ID || srv.Calls() != calls+1 {
		t.Fatalf("rewrite: %+v after %d calls", o, srv.Calls()-calls)
	}

	// A second lead with Grace's email must not take the contact from lead-7.
	twin := crm.Record{Key: "lead-8", Fields: map[string]string{"email": "grace@example.com"}}
	o := upsert(t, c, twin)[0]
	if o.Err == nil || !strings.Contains(o.Err.Error(), "Existing ID: "+existing.ID) {
		t.Fatalf("twin: %+v", o)
	}
	if got, _ := srv.Contact("hs_object_id", existing.ID); got.Properties["ledger_key"] != "lead-7" {
		t.Fatalf("contact taken over: %v", got.Properties)
	}
}

func TestConflictNotAdopted(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{})
	existing, err := srv.Seed(map[string]string{"email": "grace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	grace := crm.Record{Key: "lead-7", Fields: map[string]string{"email": "grace@example.com"}}
	out := upsert(t, c, grace, person("new@example.com", "New"))
	want := "Contact already exists. Existing ID: " + existing.ID
	var herr *hubspot.Error
	if o := out[0]; o.Err == nil || o.Err.Error() != want || !errors.As(o.Err, &herr) || herr.StatusCode != 409 {
		t.Fatalf("conflict outcome %+v, want %q", o, want)
	}
	if o := out[1]; o.Err != nil || !o.Created {
		t.Fatalf("other outcome %+v", o)
	}
	if got, _ := srv.Contact("hs_object_id", existing.ID); got.Properties["ledger_key"] != "" {
		t.Fatalf("contact adopted without AdoptExisting: %v", got.Properties)
	}
}

func TestAdoptionRefused(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{AdoptExisting: true})
	// Lead 7 is contact A; it then takes the email of contact B, which holds no key. The
	// upsert is refused (B has the email), and so is updating B instead (A holds the key).
	a := upsert(t, c, crm.Record{Key: "lead-7", Fields: map[string]string{"email": "old@example.com"}})[0]
	b, err := srv.Seed(map[string]string{"email": "new@example.com"})
	if err != nil || a.Err != nil {
		t.Fatal(err, a.Err)
	}
	o := upsert(t, c, crm.Record{Key: "lead-7", Fields: map[string]string{"email": "new@example.com"}})[0]
	want := "Contact already exists. Existing ID: " + b.ID + "; updating contact " + b.ID +
		" instead: Contact already exists. Existing ID: " + a.ExternalID
	if o.Err == nil || o.Err.Error() != want {
		t.Fatalf("outcome %+v, want %q", o, want)
	}
	if got, _ := srv.Contact("hs_object_id", b.ID); got.Properties["ledger_key"] != "" {
		t.Fatalf("contact B changed: %v", got.Properties)
	}
}
