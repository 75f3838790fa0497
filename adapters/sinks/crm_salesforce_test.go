package sinks_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

const sfSecret = "sf-client-secret-0123456789abcdef"

func newFakeSalesforce(t *testing.T, cfg fakesalesforce.Config) (*fakesalesforce.Server, string) {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret = "ledger-app", sfSecret
	fake := fakesalesforce.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

func salesforceSink(t *testing.T, base, key string) sinks.NewSink {
	return sinks.NewSink{Name: "sf-" + key, Type: sinks.TypeSalesforce, Key: key, Start: "beginning", RateLimit: &sinks.RateLimit{},
		Config: rawConfig(t, map[string]any{"instance_url": base, "external_id_field": "Ledger_Key__c",
			"auth": map[string]string{"type": "client_credentials", "token_url": base + "/services/oauth2/token",
				"client_id": "ledger-app", "client_secret": sfSecret}})}
}

// With key email, Salesforce's duplicate rule never fires: the ledger merged each person into
// one Lead. With key lead_id, every lead is its own Lead; an expired session is refreshed once
// and nothing is lost; records Salesforce rejects land in the dead letters and are written by
// a retry once the cause is gone. LastName and Company are always filled.
func TestSalesforceSink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		emails := l.people(t, 12)
		head, _ := l.store.Head(context.Background())

		byPerson, base := newFakeSalesforce(t, fakesalesforce.Config{DuplicateRule: true})
		person := l.addCRMSink(t, salesforceSink(t, base, sinks.KeyEmail))
		byLead, base := newFakeSalesforce(t, fakesalesforce.Config{})
		byLead.SetReject(func(fields map[string]string) (string, string) {
			if strings.Contains(strings.ToLower(fields["Email"]), "person0@") {
				return "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Leads from example.com need a region"
			}
			return "", ""
		})
		lead := l.addCRMSink(t, salesforceSink(t, base, sinks.KeyLeadID))
		for _, id := range []uuid.UUID{person.ID, lead.ID} {
			waitFor(t, "the sinks to reach the head", 30*time.Second, func() bool { return l.sink(t, id).Position >= head })
		}

		if n, failed := len(byPerson.Leads()), l.sink(t, person.ID).Failed; n != len(emails) || failed != 0 {
			t.Errorf("key email: %d Leads, %d failed; want one per person (%d), none refused as duplicates", n, failed, len(emails))
		}
		for _, rec := range append(byPerson.Leads(), byLead.Leads()...) {
			if rec.Fields["LastName"] == "" || rec.Fields["Company"] == "" {
				t.Errorf("Lead %v lacks LastName or Company", rec.Fields)
			}
		}
		failures, _, err := l.registry.Failures(context.Background(), lead.ID, "", 100)
		if err != nil || len(failures) != 3 { // person 0: WhatConverts, Conversica, Sensei
			t.Fatalf("dead letters %+v (%v): want person 0's three leads", failures, err)
		}
		for _, f := range failures {
			if !strings.Contains(f.Error, "Leads from example.com need a region") || f.Kind != sinks.FailureRecord {
				t.Errorf("dead letter %+v: want Salesforce's own message", f)
			}
		}
		leads, _ := l.view.LeadsByEmail(context.Background(), emails)
		if got := len(byLead.Leads()) + len(failures); got != len(leads) {
			t.Errorf("key lead_id: %d Leads + %d dead letters for %d leads", len(byLead.Leads()), len(failures), len(leads))
		}

		byLead.SetReject(nil)
		if n, err := l.registry.RetryFailures(context.Background(), lead.ID); err != nil || n != int64(len(failures)) {
			t.Fatalf("retry: %d, %v", n, err)
		}
		waitFor(t, "the retried records", 20*time.Second, func() bool {
			f, _, _ := l.registry.Failures(context.Background(), lead.ID, "", 100)
			return len(f) == 0 && len(byLead.Leads()) == len(leads)
		})

		// A session that expired is refreshed once, and the write goes through.
		byLead.ExpireTokens()
		l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_phone_number":"+15559990001"}`)
		waitFor(t, "the live update after the session expired", 20*time.Second, func() bool {
			rec, _ := byLead.Lead("Email", "person1@example.com")
			return strings.Contains(rec.Fields["Phone"], "5559990001")
		})
		if byLead.TokenRequests() != 2 {
			t.Errorf("%d token requests: want the first and one refresh", byLead.TokenRequests())
		}
		if strings.Contains(l.logs.String(), sfSecret) {
			t.Errorf("the client secret is in the log")
		}
	})
}
