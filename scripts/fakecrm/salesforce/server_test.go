package salesforce_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

func TestTokenEndpoint(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	resp, err := http.PostForm(o.url+"/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok["instance_url"] != o.url || tok["token_type"] != "Bearer" || tok["access_token"] == "" || tok["issued_at"] == "" {
		t.Fatalf("token reply %v", tok)
	}
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte(tok["id"] + tok["issued_at"]))
	if tok["signature"] != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Error("signature is not HMAC-SHA256(id + issued_at) keyed with the secret")
	}

	for name, form := range map[string]url.Values{
		"invalid_client":         {"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {"wrong"}},
		"invalid_client_id":      {"grant_type": {"client_credentials"}, "client_id": {"nobody"}, "client_secret": {clientSecret}},
		"unsupported_grant_type": {"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {clientSecret}},
	} {
		resp, err := http.PostForm(o.url+"/services/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var e map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e["error"] != name {
			t.Errorf("%s: got %d %v", name, resp.StatusCode, e)
		}
	}
	if n := o.TokenRequests(); n != 5 {
		t.Errorf("TokenRequests = %d, want 5", n)
	}
}

func TestSessionChecks(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	path := v + "/sobjects/Lead/Ledger_Key__c/a@example.com"
	if status, _, _ := o.call(t, http.MethodGet, path, ""); status != http.StatusNotFound {
		t.Fatalf("GET of a missing Lead: %d", status)
	}
	o.ExpireTokens()
	status, _, body := o.call(t, http.MethodGet, path, "")
	if status != http.StatusUnauthorized || errorCode(t, body) != "INVALID_SESSION_ID" {
		t.Fatalf("expired token: %d %s", status, body)
	}
	o.token = ""
	status, _, body = o.call(t, http.MethodGet, path, "")
	if status != http.StatusUnauthorized || errorCode(t, body) != "INVALID_AUTH_HEADER" {
		t.Fatalf("no token: %d %s", status, body)
	}
	if o.Calls() != 1 {
		t.Errorf("Calls = %d, want 1 (refused sessions are not counted)", o.Calls())
	}
}

func TestUpsertOne(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	path := v + "/sobjects/Lead/Ledger_Key__c/jane@acme.io"

	status, _, body := o.call(t, http.MethodPatch, path, `{"LastName":"Doe","Company":"Acme","Email":"jane@acme.io"}`)
	var r result
	_ = json.Unmarshal([]byte(body), &r)
	if status != http.StatusCreated || !r.Success || r.Created == nil || !*r.Created || r.ID == nil || len(*r.ID) != 18 {
		t.Fatalf("create: %d %s", status, body)
	}
	id := *r.ID

	status, _, body = o.call(t, http.MethodPatch, path, `{"FirstName":"Jane","Company":null}`)
	if status != http.StatusBadRequest || errorCode(t, body) != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("clearing Company: %d %s", status, body)
	}
	status, _, body = o.call(t, http.MethodPatch, path, `{"FirstName":"Jane"}`)
	_ = json.Unmarshal([]byte(body), &r)
	if status != http.StatusOK || *r.Created || *r.ID != id {
		t.Fatalf("update: %d %s", status, body)
	}
	// External ids match case-insensitively.
	status, _, body = o.call(t, http.MethodGet, v+"/sobjects/Lead/Ledger_Key__c/JANE@acme.io", "")
	var got map[string]any
	_ = json.Unmarshal([]byte(body), &got)
	if status != http.StatusOK || got["Id"] != id || got["FirstName"] != "Jane" || got["LastName"] != "Doe" {
		t.Fatalf("read back: %d %s", status, body)
	}

	status, _, body = o.call(t, http.MethodPatch, path, `{"Ledger_Key__c":"jane@acme.io"}`)
	if status != http.StatusBadRequest || errorCode(t, body) != "INVALID_FIELD" {
		t.Errorf("external id in the body: %d %s", status, body)
	}
	status, _, body = o.call(t, http.MethodPatch, v+"/sobjects/Lead/Email/jane@acme.io", `{"LastName":"X"}`)
	if status != http.StatusNotFound || errorCode(t, body) != "NOT_FOUND" {
		t.Errorf("upsert on a field that is no external id: %d %s", status, body)
	}
	status, _, body = o.call(t, http.MethodPatch, v+"/sobjects/Lead/Ledger_Key__c/x@bad", `{"LastName":"X","Company":"Y","Email":"x@bad"}`)
	if status != http.StatusBadRequest || errorCode(t, body) != "INVALID_EMAIL_ADDRESS" {
		t.Errorf("invalid email: %d %s", status, body)
	}
	status, _, body = o.call(t, http.MethodPatch, path, `{"LastName":`)
	if status != http.StatusBadRequest || errorCode(t, body) != "JSON_PARSER_ERROR" {
		t.Errorf("broken JSON: %d %s", status, body)
	}
	if n := len(o.Leads()); n != 1 {
		t.Errorf("%d Leads, want 1", n)
	}
}

func TestMultipleMatches(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	o.InsertDuplicateKey("Ledger_Key__c", "twin@example.com")
	if n := len(o.Leads()); n != 2 {
		t.Fatalf("%d Leads, want 2", n)
	}
	status, _, body := o.call(t, http.MethodPatch, v+"/sobjects/Lead/Ledger_Key__c/twin@example.com", `{"LastName":"Twin"}`)
	var urls []string
	_ = json.Unmarshal([]byte(body), &urls)
	if status != http.StatusMultipleChoices || len(urls) != 2 || !strings.HasPrefix(urls[0], v+"/sobjects/Lead/00Q") {
		t.Fatalf("upsert one: %d %s", status, body)
	}
	if status, _, _ := o.call(t, http.MethodGet, v+"/sobjects/Lead/Ledger_Key__c/twin@example.com", ""); status != http.StatusMultipleChoices {
		t.Errorf("GET: %d", status)
	}
	_, res := o.collection(t, false, `{"Ledger_Key__c":"twin@example.com","LastName":"T","Company":"C"}`, `{"Ledger_Key__c":"solo@example.com","LastName":"S","Company":"C"}`)
	if res[0].Success || res[0].Errors[0].StatusCode != "DUPLICATE_EXTERNAL_ID" || !res[1].Success {
		t.Errorf("collection: %+v", res)
	}
}

func TestDailyLimit(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{DailyLimit: 2})
	path := v + "/sobjects/Lead/Ledger_Key__c/a@example.com"
	for i := range 2 {
		status, h, _ := o.call(t, http.MethodGet, path, "")
		if status != http.StatusNotFound || h.Get("Sforce-Limit-Info") == "" {
			t.Fatalf("call %d: %d %v", i, status, h)
		}
	}
	status, h, body := o.call(t, http.MethodGet, path, "")
	if status != http.StatusForbidden || errorCode(t, body) != "REQUEST_LIMIT_EXCEEDED" ||
		!strings.Contains(body, "TotalRequests Limit exceeded.") || h.Get("Sforce-Limit-Info") != "api-usage=2/2" || h.Get("Retry-After") != "" {
		t.Fatalf("over the limit: %d %v %s", status, h, body)
	}
	if o.Calls() != 3 {
		t.Errorf("Calls = %d, want 3", o.Calls())
	}
}
