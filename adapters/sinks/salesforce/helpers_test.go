package salesforce_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/salesforce"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

const (
	clientID     = "3MVG9leadledgerTestKey"
	clientSecret = "s3cr3t-consumer-secret-do-not-print"
)

// org is the fake org behind a test server, with a switch that makes data requests fail.
type org struct {
	*fakesalesforce.Server
	url string
	// intercept, when set, answers data requests instead of the fake: (status, body).
	intercept atomic.Pointer[func(*http.Request) (int, string)]
}

func newOrg(t *testing.T, cfg fakesalesforce.Config) *org {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret = clientID, clientSecret
	o := &org{Server: fakesalesforce.New(cfg)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := o.intercept.Load(); f != nil && strings.HasPrefix(r.URL.Path, "/services/data/") {
			status, body := (*f)(r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
		o.Server.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	o.url = ts.URL
	return o
}

// failWith makes every data request answer status and body.
func (o *org) failWith(status int, body string) {
	o.answer(func(*http.Request) (int, string) { return status, body })
}

// answer makes f answer every data request; nil restores the fake.
func (o *org) answer(f func(*http.Request) (int, string)) {
	if f == nil {
		o.intercept.Store(nil)
		return
	}
	o.intercept.Store(&f)
}

// client returns a client_credentials client of the org. The configured instance URL is
// wrong on purpose: the token reply's instance_url must win.
func (o *org) client(t *testing.T) *salesforce.Client {
	t.Helper()
	c, err := salesforce.New(salesforce.Config{
		InstanceURL: "https://wrong.invalid",
		Auth:        salesforce.Auth{Type: "client_credentials", TokenURL: o.url + "/services/oauth2/token", ClientID: clientID, ClientSecret: clientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lead is a record with the fields a mapping usually gives.
func lead(email string, fields ...string) crm.Record {
	r := crm.Record{Key: email, Fields: map[string]string{"Email": email}}
	for i := 0; i+1 < len(fields); i += 2 {
		r.Fields[fields[i]] = fields[i+1]
	}
	return r
}
