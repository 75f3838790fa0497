package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/hubspot"
)

// stub is a HubSpot that answers every request with status, headers and body, and keeps the
// last request's inputs.
func stub(t *testing.T, status int, header map[string]string, body string) (*hubspot.Client, *[]map[string]any) {
	t.Helper()
	var inputs []map[string]any
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		var in struct{ Inputs []map[string]any }
		_ = json.NewDecoder(r.Body).Decode(&in)
		inputs = in.Inputs
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	c, err := hubspot.New(hubspot.Config{BaseURL: ts.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c, &inputs
}

func TestRequestShape(t *testing.T) {
	c, inputs := stub(t, 200, nil, `{"status":"COMPLETE","results":[
		{"id":"7","new":false,"properties":{"ledger_key":"k1","email":"a@example.com"}}]}`)
	out, err := c.Upsert(context.Background(), []crm.Record{{Key: "k1", Fields: map[string]string{"email": "a@example.com", "phone": ""}}})
	if err != nil || out[0].ExternalID != "7" || out[0].Created {
		t.Fatalf("%+v, %v", out, err)
	}
	in := (*inputs)[0]
	props := in["properties"].(map[string]any)
	if in["idProperty"] != "ledger_key" || in["id"] != "k1" || props["ledger_key"] != "k1" || in["objectWriteTraceId"] != "0" {
		t.Fatalf("input %v", in)
	}
	if _, ok := props["phone"]; ok {
		t.Fatal("an empty field was sent, which would clear it in HubSpot")
	}
}

func TestMultiStatus(t *testing.T) {
	// Errors name their inputs by objectWriteTraceId; results are placed by trace id when
	// they do not carry the id property.
	c, _ := stub(t, 207, nil, `{"status":"COMPLETE","numErrors":1,
		"results":[{"id":"12","new":true,"objectWriteTraceId":"2","properties":{}},
		           {"id":"10","new":true,"properties":{"ledger_key":"a"}}],
		"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid",
		           "context":{"objectWriteTraceId":["1"]}}]}`)
	out, err := c.Upsert(context.Background(), []crm.Record{{Key: "a"}, {Key: "b"}, {Key: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ExternalID != "10" || out[2].ExternalID != "12" || out[1].Err == nil ||
		out[1].Err.Error() != "Property values were not valid" {
		t.Fatalf("outcomes %+v", out)
	}
}

func TestMissingResultIsCallLevel(t *testing.T) {
	c, _ := stub(t, 200, nil, `{"status":"COMPLETE","results":[{"id":"1","properties":{"ledger_key":"a"}}]}`)
	if _, err := c.Upsert(context.Background(), []crm.Record{{Key: "a"}, {Key: "b"}}); err == nil {
		t.Fatal("a reply without b's result was taken as complete")
	}
}

func TestCallLevelReplies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		check  func(error) bool
	}{
		{"retry-after", 429, map[string]string{"Retry-After": "7"},
			`{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}`,
			func(err error) bool {
				var th *crm.Throttled
				return errors.As(err, &th) && th.RetryAfter == 7*time.Second && !th.Daily
			}},
		{"forbidden", 403, nil, `{"status":"error","message":"This app hasn't been granted all required scopes","category":"MISSING_SCOPES"}`,
			func(err error) bool { return errors.Is(err, crm.ErrUnauthorized) }},
		{"5xx", 502, nil, `<html>bad gateway</html>`,
			func(err error) bool {
				var th *crm.Throttled
				return err != nil && !errors.As(err, &th) && !errors.Is(err, crm.ErrUnauthorized)
			}},
		{"unreadable", 200, nil, `{"status":"COMPLETE","results":[`,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "unreadable") }},
		{"echoed token", 500, nil, `{"status":"error","message":"bad token ` + token + `"}`,
			func(err error) bool { return err != nil && !strings.Contains(err.Error(), token) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := stub(t, tc.status, tc.header, tc.body)
			_, err := c.Upsert(context.Background(), []crm.Record{{Key: "a"}})
			if !tc.check(err) {
				t.Fatalf("error %#v", err)
			}
		})
	}
}
