package sinks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// A sink parked by a daily limit tries again by itself at retry_at, and once the CRM's day has
// reset it delivers what waited and shows active again, in both modes.
func TestDailyLimitParkEndsByItself(t *testing.T) {
	for _, mode := range []string{sinks.ModeSnapshot, sinks.ModeEvents} {
		t.Run(mode, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, url string) {
				cfg := fastConfig()
				cfg.DailyLimitPark = time.Second
				l := openCRMLedger(t, url, cfg)
				l.people(t, 2)
				fake, base := newFakeHubSpot(t, fakehubspot.Config{DailyLimit: 1})
				n := hubspotSink(t, base)
				n.Start, n.Mode = "beginning", mode
				sink := l.addCRMSink(t, n)
				l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_email_address":"person1@example.com","contact_phone_number":"+15559990001"}`)
				waitFor(t, "the sink to park", 20*time.Second, func() bool {
					s := l.sink(t, sink.ID)
					return s.Status == sinks.StatusFailing && s.RetryAt != nil
				})
				waitFor(t, "the update after the park", 20*time.Second, func() bool {
					fake.ResetDaily() // a new day for one call each time we look: the sink must keep coming back
					c, _ := fake.Contact("ledger_key", "person1@example.com")
					return strings.Contains(c.Properties["phone"], "5559990001")
				})
				waitFor(t, "the sink active again", 20*time.Second, func() bool {
					fake.ResetDaily()
					s := l.sink(t, sink.ID)
					return s.Status == sinks.StatusActive && s.RetryAt == nil
				})
			})
		})
	}
}
