package salesforce_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/salesforce"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

func TestDailyLimitIsThrottled(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{DailyLimit: 1})
	c := o.client(t)
	ctx := context.Background()
	if _, err := c.Upsert(ctx, []crm.Record{lead("a@example.com")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Upsert(ctx, []crm.Record{lead("b@example.com")})
	th, ok := errors.AsType[*crm.Throttled](err)
	if !ok || !th.Daily || th.Policy != "TotalRequests" || th.RetryAfter != 0 || th.Message != "TotalRequests Limit exceeded." {
		t.Fatalf("got %#v (%v), want a daily *crm.Throttled", th, err)
	}
	if errors.Is(err, crm.ErrUnauthorized) {
		t.Error("a limit is not a credentials problem")
	}
}

func TestConcurrencyLimitIsNotDaily(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	o.failWith(http.StatusForbidden, `[{"message":"ConcurrentPerOrgLongTxn Limit exceeded","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)
	_, err := c.Upsert(context.Background(), []crm.Record{lead("a@example.com")})
	th, ok := errors.AsType[*crm.Throttled](err)
	if !ok || th.Daily || th.Policy != "ConcurrentPerOrgLongTxn" {
		t.Fatalf("got %#v (%v)", th, err)
	}
}

func TestCallLevelFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"server error", http.StatusInternalServerError, `[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]`, "UNKNOWN_EXCEPTION"},
		{"unavailable", http.StatusServiceUnavailable, `<html>down for maintenance</html>`, ""},
		{"unknown field", http.StatusBadRequest, `[{"message":"No such column 'Score__c' on sobject of type Lead","errorCode":"INVALID_FIELD"}]`, "INVALID_FIELD"},
		{"short reply", http.StatusOK, `[]`, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, fakesalesforce.Config{})
			c := o.client(t)
			o.failWith(tc.status, tc.body)
			out, err := c.Upsert(context.Background(), []crm.Record{lead("a@example.com")})
			if err == nil || out != nil {
				t.Fatalf("got %v %v, want a call-level error", out, err)
			}
			if _, ok := errors.AsType[*crm.Throttled](err); ok || errors.Is(err, crm.ErrUnauthorized) {
				t.Errorf("%v is classed as throttled or unauthorized", err)
			}
			if tc.code != "-" {
				apiErr, ok := errors.AsType[*salesforce.APIError](err)
				if !ok || apiErr.Status != tc.status || apiErr.Code != tc.code {
					t.Errorf("got %#v", err)
				}
			}
			t.Log(err)
		})
	}
}

func TestNetworkFailure(t *testing.T) {
	o := newOrg(t, fakesalesforce.Config{})
	c := o.client(t)
	if _, err := c.Upsert(context.Background(), []crm.Record{lead("a@example.com")}); err != nil {
		t.Fatal(err)
	}
	o.answer(func(r *http.Request) (int, string) {
		panic(http.ErrAbortHandler) // the connection drops mid-request
	})
	_, err := c.Upsert(context.Background(), []crm.Record{lead("b@example.com")})
	if err == nil || errors.Is(err, crm.ErrUnauthorized) {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Upsert(ctx, []crm.Record{lead("b@example.com")}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestNewNamesWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		cfg  salesforce.Config
		want []string
	}{
		{salesforce.Config{}, []string{"auth.type"}},
		{salesforce.Config{Auth: salesforce.Auth{Type: "client_credentials"}}, []string{"auth.token_url", "auth.client_id", "auth.client_secret"}},
		{salesforce.Config{Auth: salesforce.Auth{Type: "bearer"}}, []string{"auth.token", "instance_url"}},
		{salesforce.Config{InstanceURL: "ftp://x", Auth: salesforce.Auth{Type: "bearer", Token: "t"}}, []string{"instance_url must be an http(s) URL"}},
		{salesforce.Config{InstanceURL: "https://x.my.salesforce.com", Auth: salesforce.Auth{Type: "bearer", Token: "t"}, APIVersion: "latest", Object: "Lead/x", ExternalIDField: "a b"},
			[]string{"api_version", "object", "external_id_field"}},
		{salesforce.Config{Auth: salesforce.Auth{Type: "password"}}, []string{"auth.type \"password\""}},
	} {
		_, err := salesforce.New(tc.cfg)
		if err == nil {
			t.Errorf("%+v accepted", tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q does not name %s", tc.cfg, err, w)
			}
		}
	}
	secret := "very-secret-value"
	_, err := salesforce.New(salesforce.Config{Auth: salesforce.Auth{Type: "client_credentials", ClientSecret: secret}})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("got %v", err)
	}
	if _, err := salesforce.New(salesforce.Config{InstanceURL: "https://x.my.salesforce.com/", APIVersion: "61.0",
		Auth: salesforce.Auth{Type: "client_credentials", ClientID: "id", ClientSecret: "s"}}); err != nil {
		t.Errorf("a valid config: %v", err)
	}
}
