package sinks_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

const hubspotToken = "pat-na1-11111111-2222-3333-4444-555555555555"

func newFakeHubSpot(t *testing.T, cfg fakehubspot.Config) (*fakehubspot.Server, string) {
	t.Helper()
	cfg.Token = hubspotToken
	fake := fakehubspot.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

func hubspotSink(t *testing.T, baseURL string) sinks.NewSink {
	return sinks.NewSink{Type: sinks.TypeHubSpot, Start: "now", RateLimit: &sinks.RateLimit{},
		Config: rawConfig(t, map[string]string{"base_url": baseURL, "token": hubspotToken, "id_property": "ledger_key"})}
}

// A snapshot replay of people who came through several vendors, with re-sent and out-of-order
// WhatConverts updates, lands one HubSpot contact per person holding the merged lead view; a
// second replay creates nothing; only_changed sends nothing; live changes arrive, and a live
// event that changes nothing mapped costs no call.
func TestHubSpotSnapshotReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		emails := l.people(t, 150) // about 230 leads
		noEmail := l.post(t, "whatconverts", "whatconverts", `{"trigger":"new","lead_id":99999,"contact_name":"No Email","contact_phone_number":"+15550009999"}`)
		l.caughtUp(t)
		fake, base := newFakeHubSpot(t, fakehubspot.Config{})
		sink := l.addCRMSink(t, hubspotSink(t, base))

		rp := l.replay(t, sink.ID, false)
		contacts := fake.Contacts()
		if len(contacts) != len(emails)+1 {
			t.Fatalf("%d contacts, want one per person (%d) and one for the lead without email", len(contacts), len(emails)+1)
		}
		if rp.RecordsWritten != int64(len(emails)+1) || rp.Delivered != rp.Total || rp.Failed != 0 {
			t.Errorf("replay: %+v, want %d records written and every event delivered", rp, len(emails)+1)
		}
		calls := fake.Calls()
		if calls > 3 {
			t.Errorf("%d calls for %d records: the replay did not batch", calls, len(contacts))
		}
		for _, email := range emails {
			c, ok := fake.Contact("ledger_key", email)
			if !ok {
				t.Fatalf("no contact keyed %s", email)
			}
			for field, want := range map[string]string{
				"email":     strings.ToLower(merged(t, l.view, email, func(l domain.Lead) string { return strings.TrimSpace(l.Email) })),
				"firstname": merged(t, l.view, email, func(l domain.Lead) string { return firstName(l) }),
				"lastname":  merged(t, l.view, email, func(l domain.Lead) string { return lastName(l) }),
				"phone":     merged(t, l.view, email, func(l domain.Lead) string { return l.Phone }),
				"company":   merged(t, l.view, email, func(l domain.Lead) string { return l.Company }),
			} {
				if got := c.Properties[field]; got != want {
					t.Errorf("%s: %s = %q, want the merged view's %q", email, field, got, want)
				}
			}
		}
		if c, _ := fake.Contact("ledger_key", "person3@example.com"); !strings.Contains(c.Properties["phone"], "5553000003") ||
			c.Properties["firstname"] != "Conv3" || !strings.Contains(c.Properties["ledger_sources"], "conversica") {
			t.Errorf("person 3 = %v: want the newest WhatConverts phone (not the stale one), Conversica's first name, both sources", c.Properties)
		}
		if _, ok := fake.Contact("ledger_key", "lead:"+noEmail.LeadID.String()); !ok {
			t.Errorf("the lead without an email has no contact keyed lead:<its lead id>")
		}

		before := contactIDs(fake)
		rp = l.replay(t, sink.ID, false)
		if after := contactIDs(fake); len(after) != len(before) || rp.RecordsWritten != int64(len(before)) {
			t.Errorf("second replay: %d contacts (before %d), %d written: it must update the same records", len(after), len(before), rp.RecordsWritten)
		}
		calls = fake.Calls()
		rp = l.replay(t, sink.ID, true)
		if rp.RecordsUnchanged != int64(len(before)) || rp.RecordsWritten != 0 || fake.Calls() != calls {
			t.Errorf("only_changed replay: %d unchanged, %d written, %d calls: want every record skipped and no call",
				rp.RecordsUnchanged, rp.RecordsWritten, fake.Calls()-calls)
		}

		// Live: a newer update reaches the contact; re-sending it costs nothing.
		update := `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_email_address":"person1@example.com","contact_phone_number":"+15559990001"}`
		l.post(t, "whatconverts", "whatconverts", update)
		waitFor(t, "the live update to reach HubSpot", 20*time.Second, func() bool {
			c, _ := fake.Contact("ledger_key", "person1@example.com")
			return strings.Contains(c.Properties["phone"], "5559990001")
		})
		calls = fake.Calls()
		last := l.post(t, "whatconverts", "whatconverts", update)
		l.caughtUp(t)
		waitFor(t, "the sink to pass the re-sent update", 20*time.Second, func() bool {
			return l.sink(t, sink.ID).Position >= last.Position
		})
		if fake.Calls() != calls {
			t.Errorf("a re-sent update that changed nothing cost %d calls", fake.Calls()-calls)
		}

		// The identity map says which leads made each record and what HubSpot calls it.
		leads, err := l.view.LeadsByEmail(context.Background(), []string{"person0@example.com"})
		if err != nil || len(leads) != 3 {
			t.Fatalf("person 0 has %d leads (%v), want WhatConverts, Conversica and Sensei", len(leads), err)
		}
		records, _, err := l.registry.Records(context.Background(), sink.ID, &leads[0].ID, "", 10)
		contact, _ := fake.Contact("ledger_key", "person0@example.com")
		if err != nil || len(records) != 1 || len(records[0].LeadIDs) != 3 || records[0].ExternalID != contact.ID {
			t.Fatalf("identity map of person 0: %+v (%v), want one record of 3 leads, external id %s", records, err, contact.ID)
		}
		dests, err := l.registry.Destinations(context.Background(), leads[1].ID)
		if err != nil || len(dests) != 1 || dests[0].ExternalID != contact.ID || dests[0].SinkID != sink.ID {
			t.Errorf("destinations of a lead of person 0: %+v (%v)", dests, err)
		}
		if strings.Contains(l.logs.String(), hubspotToken) {
			t.Errorf("the token is in the log")
		}
	})
}

// firstName and lastName are a lead's, or, when it has only one name (docs/crm.md), its first
// word and the rest.
func firstName(l domain.Lead) string {
	if l.FirstName == "" && l.LastName == "" {
		return strings.Fields(l.Name + " ")[0]
	}
	return l.FirstName
}

func lastName(l domain.Lead) string {
	if l.FirstName == "" && l.LastName == "" {
		return strings.Join(strings.Fields(l.Name)[1:], " ")
	}
	return l.LastName
}

func contactIDs(fake *fakehubspot.Server) map[string]bool {
	ids := map[string]bool{}
	for _, c := range fake.Contacts() {
		ids[c.ID] = true
	}
	return ids
}
