package hubspot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/hubspot"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

const token = "pat-na1-11111111-2222-3333-4444-555555555555"

// setup starts a fake HubSpot and a client of it.
func setup(t *testing.T, fake fakehubspot.Config, cfg hubspot.Config) (*fakehubspot.Server, *hubspot.Client) {
	t.Helper()
	if fake.Token == "" {
		fake.Token = token
	}
	srv := fakehubspot.New(fake)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg.BaseURL = ts.URL
	if cfg.Token == "" {
		cfg.Token = token
	}
	c, err := hubspot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// person is a record keyed by its email, as the ledger writes with key: email.
func person(email, first string) crm.Record {
	return crm.Record{Key: email, Fields: map[string]string{"email": email, "firstname": first}}
}

func upsert(t *testing.T, c *hubspot.Client, records ...crm.Record) []crm.Outcome {
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

func TestCreateThenUpdateSameKey(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{})
	first := upsert(t, c, person("ada@example.com", "Ada"))[0]
	if first.Err != nil || first.ExternalID == "" || !first.Created {
		t.Fatalf("first write: %+v", first)
	}
	second := upsert(t, c, person("ada@example.com", "Augusta"))[0]
	if second.Err != nil || second.ExternalID != first.ExternalID || second.Created {
		t.Fatalf("second write: %+v, want an update of %s", second, first.ExternalID)
	}
	all := srv.Contacts()
	if len(all) != 1 {
		t.Fatalf("%d contacts, want 1", len(all))
	}
	if p := all[0].Properties; p["firstname"] != "Augusta" || p["ledger_key"] != "ada@example.com" {
		t.Fatalf("contact properties %v", p)
	}
	if srv.Calls() != 2 {
		t.Fatalf("%d calls, want 2", srv.Calls())
	}
}

func TestBatchOf100(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{})
	if c.MaxBatch() != 100 {
		t.Fatalf("MaxBatch %d", c.MaxBatch())
	}
	records := make([]crm.Record, 100)
	for i := range records {
		records[i] = person(fmt.Sprintf("p%03d@example.com", i), fmt.Sprint("P", i))
	}
	out := upsert(t, c, records...)
	ids := map[string]bool{}
	for i, o := range out {
		if o.Err != nil || !o.Created || ids[o.ExternalID] {
			t.Fatalf("outcome %d: %+v", i, o)
		}
		ids[o.ExternalID] = true
		// Results come back in another order; each must still sit at its record's index.
		got, ok := srv.Contact("hs_object_id", o.ExternalID)
		if !ok || got.Properties["email"] != records[i].Key {
			t.Fatalf("outcome %d names contact %s holding %v", i, o.ExternalID, got.Properties)
		}
	}
	if srv.Calls() != 1 || len(srv.Contacts()) != 100 {
		t.Fatalf("%d calls, %d contacts", srv.Calls(), len(srv.Contacts()))
	}
	if _, err := c.Upsert(context.Background(), append(records, person("x@example.com", "X"))); err == nil {
		t.Fatal("101 records accepted")
	}
}

func TestOneInvalidEmailFailsAlone(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{})
	records := make([]crm.Record, 100)
	for i := range records {
		records[i] = person(fmt.Sprintf("p%03d@example.com", i), "P")
	}
	records[37] = person("not an email@example", "Bad")
	out := upsert(t, c, records...)
	for i, o := range out {
		if i == 37 {
			if o.Err == nil || o.ExternalID != "" || !strings.Contains(o.Err.Error(), "INVALID_EMAIL") ||
				!strings.HasPrefix(o.Err.Error(), "Property values were not valid") {
				t.Fatalf("invalid record: %+v", o)
			}
			var herr *hubspot.Error
			if !errors.As(o.Err, &herr) || herr.StatusCode != 400 || herr.Category != "VALIDATION_ERROR" {
				t.Fatalf("invalid record's error %#v", o.Err)
			}
			continue
		}
		if o.Err != nil || o.ExternalID == "" || !o.Created {
			t.Fatalf("outcome %d: %+v", i, o)
		}
	}
	if n := len(srv.Contacts()); n != 99 {
		t.Fatalf("%d contacts, want 99", n)
	}
	// Halving 100 down to the one culprit: 1 + 2·7 requests at most.
	if n := srv.Calls(); n > 15 {
		t.Fatalf("%d calls to isolate one record", n)
	}
}

func TestRejectedValuesAreDeadLetters(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{})
	srv.SetReject(func(p map[string]string) string {
		if p["firstname"] == "Mallory" {
			return "Enter only letters"
		}
		return ""
	})
	out := upsert(t, c, person("a@example.com", "Alice"), person("m1@example.com", "Mallory"),
		person("b@example.com", "Bob"), person("m2@example.com", "Mallory"))
	for i, o := range out {
		bad := i%2 == 1
		if bad != (o.Err != nil) || (o.Err != nil && !strings.Contains(o.Err.Error(), "Enter only letters")) {
			t.Fatalf("outcome %d: %+v", i, o)
		}
	}
}

func TestDuplicateKeysWrittenInOrder(t *testing.T) {
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{})
	out := upsert(t, c, person("a@example.com", "First"), person("b@example.com", "B"), person("a@example.com", "Last"))
	if out[0].ExternalID != out[2].ExternalID || !out[0].Created || out[2].Created || out[1].Err != nil {
		t.Fatalf("outcomes %+v", out)
	}
	if got, _ := srv.Contact("email", "a@example.com"); got.Properties["firstname"] != "Last" {
		t.Fatalf("contact %v", got.Properties)
	}
}

func TestThrottled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fake   fakehubspot.Config
		policy string
		daily  bool
	}{
		{"rolling", fakehubspot.Config{RateLimit: 2, RateWindow: time.Minute}, "TEN_SECONDLY_ROLLING", false},
		{"daily", fakehubspot.Config{DailyLimit: 2}, "DAILY", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := setup(t, tc.fake, hubspot.Config{})
			upsert(t, c, person("a@example.com", "A"))
			upsert(t, c, person("b@example.com", "B"))
			_, err := c.Upsert(context.Background(), []crm.Record{person("c@example.com", "C")})
			var th *crm.Throttled
			if !errors.As(err, &th) || th.Policy != tc.policy || th.Daily != tc.daily || th.Message == "" {
				t.Fatalf("error %#v, want *crm.Throttled %s", err, tc.policy)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("token in %q", err)
			}
			if _, ok := srv.Contact("email", "c@example.com"); ok || srv.Throttled() != 1 {
				t.Fatalf("throttled call wrote, or %d throttled", srv.Throttled())
			}
			if tc.daily {
				srv.ResetDaily()
				upsert(t, c, person("c@example.com", "C"))
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	const wrong = "pat-na1-99999999-8888-7777-6666-000000000000"
	srv, c := setup(t, fakehubspot.Config{}, hubspot.Config{Token: wrong})
	_, err := c.Upsert(context.Background(), []crm.Record{person("a@example.com", "A")})
	if !errors.Is(err, crm.ErrUnauthorized) {
		t.Fatalf("error %v, want crm.ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), token) {
		t.Fatalf("token in %q", err)
	}
	if len(srv.Contacts()) != 0 {
		t.Fatal("an unauthorized call wrote")
	}
}

func TestIDPropertyNotUnique(t *testing.T) {
	_, c := setup(t, fakehubspot.Config{}, hubspot.Config{IDProperty: "firstname"})
	_, err := c.Upsert(context.Background(), []crm.Record{person("a@example.com", "A"), person("b@example.com", "B")})
	var herr *hubspot.Error
	if err == nil || !errors.As(err, &herr) || !strings.Contains(err.Error(), "firstname") {
		t.Fatalf("error %v, want a call-level error naming the id property", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []hubspot.Config{
		{},
		{Token: "pat with space"},
		{Token: token, BaseURL: "ftp://example.com"},
	} {
		if _, err := hubspot.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if cfg.Token != "" && strings.Contains(err.Error(), cfg.Token) {
			t.Errorf("token in %q", err)
		}
	}
}
