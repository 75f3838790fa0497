package sinks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// A lead whose email changes moves to the other person's record, and the record it left is
// written again without it: no contact keeps a lead that is no longer that person's.
func TestLeadChangingEmailMovesRecord(t *testing.T) {
	for _, mode := range []string{sinks.ModeSnapshot, sinks.ModeEvents} {
		t.Run(mode, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, url string) {
				l := openCRMLedger(t, url, fastConfig())
				fake, base := newFakeHubSpot(t, fakehubspot.Config{})
				n := hubspotSink(t, base)
				n.Start, n.Mode = "beginning", mode
				sink := l.addCRMSink(t, n)
				wc := l.post(t, "whatconverts", "whatconverts", `{"trigger":"new","lead_id":1,"last_updated":"2026-01-01T10:00:00Z","contact_name":"Ann","contact_email_address":"ann@example.com"}`)
				sensei := l.post(t, "sensei", "sensei", `{"event":"lead.created","data":{"id":"s1","name":"Ann S","email":"ann@example.com"}}`)
				waitFor(t, "ann's contact with both leads", 20*time.Second, func() bool {
					c, _ := fake.Contact("ledger_key", "ann@example.com")
					return strings.Count(c.Properties["ledger_lead_ids"], ",") == 1
				})
				// The vendor corrects the email: this lead was Bob all along.
				last := l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":1,"last_updated":"2026-01-02T10:00:00Z","contact_name":"Bob","contact_email_address":"bob@example.com"}`)
				l.caughtUp(t)
				waitFor(t, "the sink past the correction", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position >= last.Position })

				ann, _ := fake.Contact("ledger_key", "ann@example.com")
				bob, ok := fake.Contact("ledger_key", "bob@example.com")
				if !ok || !strings.Contains(bob.Properties["ledger_lead_ids"], wc.LeadID.String()) {
					t.Fatalf("bob's contact %v: want the corrected lead", bob.Properties)
				}
				if got := ann.Properties["ledger_lead_ids"]; got != sensei.LeadID.String() || ann.Properties["ledger_sources"] != "sensei" {
					t.Errorf("ann's contact lists leads %q, sources %q: want only the Sensei lead", got, ann.Properties["ledger_sources"])
				}
				dests, err := l.registry.Destinations(context.Background(), wc.LeadID)
				if err != nil || len(dests) != 1 || dests[0].RecordKey != "bob@example.com" {
					t.Errorf("the corrected lead's destinations: %+v (%v), want bob's record", dests, err)
				}
			})
		})
	}
}
