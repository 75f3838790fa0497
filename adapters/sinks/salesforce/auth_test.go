package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/salesforce"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

func TestExpiredSessionRefreshedOnce(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	ctx := context.Background()
	if _, err := c.Upsert(ctx, []crm.Record{lead("a@example.com")}); err != nil {
		t.Fatal(err)
	}
	o.ExpireTokens()
	out, err := c.Upsert(ctx, []crm.Record{lead("b@example.com")})
	if err != nil || out[0].Err != nil {
		t.Fatalf("after the expiry: %+v %v", out, err)
	}
	if n := o.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	if n := len(o.Leads()); n != 2 {
		t.Errorf("%d Leads, want 2", n)
	}
}

func TestSessionRefusedAfterRefresh(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	o.failWith(http.StatusUnauthorized, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
	_, err := c.Upsert(context.Background(), []crm.Record{lead("a@example.com")})
	if !errors.Is(err, crm.ErrUnauthorized) {
		t.Fatalf("got %v, want ErrUnauthorized", err)
	}
	if n := o.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2 (the first and one refresh)", n)
	}
	t.Log(err)
}

func TestBearerTokenNotRefreshed(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	resp, err := http.PostForm(o.url+"/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	c, err := salesforce.New(salesforce.Config{InstanceURL: o.url, Auth: salesforce.Auth{Type: "bearer", Token: tok.AccessToken}})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Upsert(context.Background(), []crm.Record{lead("a@example.com")}); err != nil || out[0].Err != nil {
		t.Fatalf("%+v %v", out, err)
	}
	o.ExpireTokens()
	_, err = c.Upsert(context.Background(), []crm.Record{lead("a@example.com")})
	if !errors.Is(err, crm.ErrUnauthorized) {
		t.Fatalf("got %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), tok.AccessToken) {
		t.Errorf("the token is in the error: %v", err)
	}
	if n := o.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want only the test's own", n)
	}
}

func TestWrongClientSecret(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c, err := salesforce.New(salesforce.Config{
		InstanceURL: o.url, // the token URL defaults to the instance's
		Auth:        salesforce.Auth{Type: "client_credentials", ClientID: clientID, ClientSecret: "wrong-" + clientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upsert(context.Background(), []crm.Record{lead("a@example.com")})
	if !errors.Is(err, crm.ErrUnauthorized) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("got %v, want ErrUnauthorized naming invalid_client", err)
	}
	if strings.Contains(err.Error(), clientSecret) {
		t.Errorf("the secret is in the error: %v", err)
	}
	if o.Calls() != 0 {
		t.Errorf("%d data calls without a token", o.Calls())
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	if _, err := c.Upsert(context.Background(), []crm.Record{lead("a@example.com")}); err != nil {
		t.Fatal(err)
	}
	// A broken proxy echoing the request: the token and the secret come back in the reply.
	var mu sync.Mutex
	var tokens []string
	echo := func(status int, prefix string) func(*http.Request) (int, string) {
		return func(r *http.Request) (int, string) {
			auth := r.Header.Get("Authorization")
			mu.Lock()
			tokens = append(tokens, strings.TrimPrefix(auth, "Bearer "))
			mu.Unlock()
			return status, prefix + "client_secret=" + clientSecret + " Authorization: " + auth
		}
	}
	cases := []struct {
		status int
		body   string
	}{
		{http.StatusBadGateway, "upstream echo: "},
		{http.StatusBadRequest, `[{"errorCode":"INVALID_FIELD","message":"echo `},
		{http.StatusOK, "not json "},
	}
	for _, tc := range cases {
		o.answer(echo(tc.status, tc.body))
		_, err := c.Upsert(context.Background(), []crm.Record{lead("b@example.com")})
		if err == nil {
			t.Fatalf("HTTP %d: no error", tc.status)
		}
		mu.Lock()
		for _, tok := range tokens {
			if tok == "" || strings.Contains(err.Error(), tok) {
				t.Errorf("token in %q", err)
			}
		}
		mu.Unlock()
		if strings.Contains(err.Error(), clientSecret) {
			t.Errorf("secret in %q", err)
		}
		t.Log(err)
	}
	// The refused session: INVALID_SESSION_ID twice, the second time after a refresh.
	o.answer(echo(http.StatusUnauthorized, "session: "))
	_, err := c.Upsert(context.Background(), []crm.Record{lead("b@example.com")})
	if !errors.Is(err, crm.ErrUnauthorized) || strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), "Bearer 00D") {
		t.Errorf("unauthorized: %v", err)
	}
}

func TestConcurrentCallsShareOneRefresh(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	run := func(round int) {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				key := "r" + string(rune('a'+round)) + string(rune('a'+i)) + "@example.com"
				out, err := c.Upsert(context.Background(), []crm.Record{lead(key)})
				if err != nil || out[0].Err != nil {
					t.Errorf("%s: %+v %v", key, out, err)
				}
			})
		}
		wg.Wait()
	}
	run(0)
	if n := o.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for the first 16 concurrent calls, want 1", n)
	}
	o.ExpireTokens()
	run(1)
	if n := o.TokenRequests(); n != 2 {
		t.Errorf("%d token requests after the expiry, want 2", n)
	}
	if n := len(o.Leads()); n != 32 {
		t.Errorf("%d Leads, want 32", n)
	}
}
