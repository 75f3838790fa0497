package salesforce_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

const (
	clientID     = "3MVG9fakeConsumerKey"
	clientSecret = "fake-consumer-secret-0123456789"
	v            = "/services/data/v60.0"
)

// org is a fake org behind a test server, with a token already issued.
type org struct {
	*fakesalesforce.Server
	url   string
	token string
}

func newOrg(t testing.TB, cfg fakesalesforce.Config) *org {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret = clientID, clientSecret
	s := fakesalesforce.New(cfg)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	o := &org{Server: s, url: ts.URL}
	o.token = o.login(t)
	return o
}

func (o *org) login(t testing.TB) string {
	t.Helper()
	resp, err := http.PostForm(o.url+"/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok["access_token"]
}

// call sends a data request with the org's token and returns the status, headers and body.
func (o *org) call(t testing.TB, method, path, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, o.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// result is one UpsertResult.
type result struct {
	ID      *string `json:"id"`
	Success bool    `json:"success"`
	Created *bool   `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

// collection upserts records (JSON objects without attributes) on Ledger_Key__c.
func (o *org) collection(t testing.TB, allOrNone bool, records ...string) (int, []result) {
	t.Helper()
	recs := make([]string, len(records))
	for i, r := range records {
		recs[i] = `{"attributes":{"type":"Lead"},` + strings.TrimPrefix(r, "{")
	}
	body := `{"allOrNone":` + map[bool]string{true: "true", false: "false"}[allOrNone] + `,"records":[` + strings.Join(recs, ",") + `]}`
	status, _, raw := o.call(t, http.MethodPatch, v+"/composite/sobjects/Lead/Ledger_Key__c", body)
	var out []result
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatalf("reply %s: %v", raw, err)
		}
	}
	return status, out
}

// errorCode reads the first errorCode of a REST error body.
func errorCode(t testing.TB, body string) string {
	t.Helper()
	var errs []struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &errs); err != nil || len(errs) == 0 {
		t.Fatalf("not a REST error body: %s", body)
	}
	return errs[0].ErrorCode
}
