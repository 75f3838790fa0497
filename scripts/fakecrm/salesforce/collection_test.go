package salesforce_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

func TestCollectionPartialSuccess(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	o.SetReject(func(f map[string]string) (string, string) {
		if f["Industry"] == "Gambling" {
			return "FIELD_CUSTOM_VALIDATION_EXCEPTION", "We do not sell to casinos"
		}
		return "", ""
	})
	status, res := o.collection(t, false,
		`{"Ledger_Key__c":"a@example.com","LastName":"A","Company":"Acme"}`,
		`{"Ledger_Key__c":"b@example.com","LastName":"B"}`,
		`{"Ledger_Key__c":"c@example.com","LastName":"C","Company":"Casino","Industry":"Gambling"}`,
		`{"LastName":"NoKey","Company":"X"}`,
		`{"Ledger_Key__c":"d@example.com","LastName":"D","Company":"Dup"}`,
		`{"Ledger_Key__c":"D@example.com","LastName":"D2","Company":"Dup"}`,
	)
	if status != http.StatusOK || len(res) != 6 {
		t.Fatalf("%d %+v", status, res)
	}
	want := []string{"", "REQUIRED_FIELD_MISSING", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "MISSING_ARGUMENT", "DUPLICATE_VALUE", "DUPLICATE_VALUE"}
	for i, w := range want {
		got := ""
		if !res[i].Success {
			got = res[i].Errors[0].StatusCode
			if res[i].ID != nil {
				t.Errorf("record %d failed with an id", i)
			}
		}
		if got != w {
			t.Errorf("record %d: %q, want %q (%+v)", i, got, w, res[i])
		}
	}
	if !*res[0].Created {
		t.Error("record 0 not created")
	}
	if n := len(o.Leads()); n != 1 {
		t.Errorf("%d Leads, want 1", n)
	}
	o.SetReject(nil)
	_, res = o.collection(t, false, `{"Ledger_Key__c":"c@example.com","LastName":"C","Company":"Casino","Industry":"Gambling"}`)
	if !res[0].Success {
		t.Errorf("after SetReject(nil): %+v", res[0])
	}
}

func TestCollectionAllOrNone(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	o.collection(t, false, `{"Ledger_Key__c":"old@example.com","LastName":"Old","Company":"Before"}`)
	_, res := o.collection(t, true,
		`{"Ledger_Key__c":"old@example.com","Company":"After"}`,
		`{"Ledger_Key__c":"new@example.com","LastName":"New","Company":"N"}`,
		`{"Ledger_Key__c":"bad@example.com","LastName":"Bad"}`,
	)
	if res[0].Success || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
		res[1].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || res[2].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("%+v", res)
	}
	if l, _ := o.Lead("Ledger_Key__c", "old@example.com"); l.Fields["Company"] != "Before" {
		t.Errorf("update not rolled back: %v", l.Fields)
	}
	if _, ok := o.Lead("Ledger_Key__c", "new@example.com"); ok || len(o.Leads()) != 1 {
		t.Error("create not rolled back")
	}
	_, res = o.collection(t, true, `{"Ledger_Key__c":"new@example.com","LastName":"New","Company":"N"}`)
	if !res[0].Success || !*res[0].Created {
		t.Errorf("after the rollback the key is free again: %+v", res[0])
	}
}

func TestCollectionLimits(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	recs := make([]string, 201)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"Ledger_Key__c":"p%d@example.com","LastName":"P","Company":"C"}`, i)
	}
	if status, _ := o.collection(t, false, recs...); status != http.StatusBadRequest {
		t.Errorf("201 records: %d", status)
	}
	status, res := o.collection(t, false, recs[:200]...)
	if status != http.StatusOK || len(res) != 200 || len(o.Leads()) != 200 || o.Calls() != 2 {
		t.Errorf("200 records: %d, %d results, %d Leads, %d calls", status, len(res), len(o.Leads()), o.Calls())
	}
	status, _, body := o.call(t, http.MethodPatch, v+"/composite/sobjects/Lead/Ledger_Key__c", `{"records":[{"Ledger_Key__c":"x@example.com"}]}`)
	if status != http.StatusBadRequest || errorCode(t, body) != "INVALID_TYPE" {
		t.Errorf("no attributes: %d %s", status, body)
	}
	status, _, body = o.call(t, http.MethodPatch, "/services/data/v45.0/composite/sobjects/Lead/Ledger_Key__c", `{"records":[]}`)
	if status != http.StatusNotFound {
		t.Errorf("v45.0: %d %s", status, body)
	}
}

func TestDuplicateRule(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{DuplicateRule: true})
	o.collection(t, false, `{"Ledger_Key__c":"k1","LastName":"A","Company":"C","Email":"Same@Example.com"}`)
	_, res := o.collection(t, false,
		`{"Ledger_Key__c":"k2","LastName":"B","Company":"C","Email":"same@example.com"}`,
		`{"Ledger_Key__c":"k1","FirstName":"Ann"}`, // an update is not checked
	)
	if res[0].Success || res[0].Errors[0].StatusCode != "DUPLICATES_DETECTED" || !res[1].Success {
		t.Fatalf("%+v", res)
	}
	status, _, body := o.call(t, http.MethodPatch, v+"/composite/sobjects/Lead/Ledger_Key__c",
		`{"records":[{"attributes":{"type":"Lead"},"Ledger_Key__c":"k2","LastName":"B","Company":"C","Email":"same@example.com"}]}`,
		"Sforce-Duplicate-Rule-Header", "allowSave=true; includeRecordDetails=false")
	if status != http.StatusOK || !strings.Contains(body, `"success":true`) {
		t.Fatalf("allowSave: %d %s", status, body)
	}
	status, _, body = o.call(t, http.MethodPatch, v+"/sobjects/Lead/Ledger_Key__c/k3", `{"LastName":"C","Company":"C","Email":"SAME@example.com"}`)
	if status != http.StatusBadRequest || errorCode(t, body) != "DUPLICATES_DETECTED" || !strings.Contains(body, "duplicateResult") {
		t.Errorf("upsert one: %d %s", status, body)
	}
}

func TestSecondExternalIDStaysUnique(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{ExternalIDFields: []string{"Ledger_Key__c", "Crm_Ref__c"}})
	_, res := o.collection(t, false,
		`{"Ledger_Key__c":"a","LastName":"A","Company":"C","Crm_Ref__c":"R1"}`,
		`{"Ledger_Key__c":"b","LastName":"B","Company":"C","crm_ref__c":"r1"}`,
	)
	if !res[0].Success || res[1].Success || res[1].Errors[0].StatusCode != "DUPLICATE_VALUE" {
		t.Fatalf("%+v", res)
	}
	o.collection(t, false, `{"Ledger_Key__c":"a","Crm_Ref__c":"R2"}`)
	if _, ok := o.Lead("Crm_Ref__c", "R1"); ok {
		t.Error("the old value is still indexed")
	}
	if l, ok := o.Lead("crm_ref__c", "r2"); !ok || l.Fields["Ledger_Key__c"] != "a" {
		t.Errorf("by the second external id: %v %v", l, ok)
	}
}

// BenchmarkCollectionUpsert writes batches of 200 new Leads into an org that grows to b.N*200
// Leads: the time per batch stays flat because every lookup is indexed.
func BenchmarkCollectionUpsert(b *testing.B) {
	o := newOrg(b, fakesalesforce.Config{DuplicateRule: true})
	n := 0
	for b.Loop() {
		recs := make([]string, 200)
		for i := range recs {
			n++
			recs[i] = fmt.Sprintf(`{"Ledger_Key__c":"p%d@example.com","LastName":"P","Company":"C","Email":"p%d@example.com"}`, n, n)
		}
		if _, res := o.collection(b, false, recs...); len(res) != 200 || !res[199].Success {
			b.Fatalf("batch failed: %+v", res)
		}
	}
}
