package hubspot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/hubspot"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// BenchmarkUpsertCeiling is the most contacts/s this machine writes into the fake HubSpot over
// loopback with this client, 8 batches of 100 in flight as a CRM replay has, and no database
// at all: the ceiling scripts/bench-crm.sh sets its replay's figure beside.
func BenchmarkUpsertCeiling(b *testing.B) {
	ts := httptest.NewServer(fakehubspot.New(fakehubspot.Config{Token: token}))
	defer ts.Close()
	c, err := hubspot.New(hubspot.Config{BaseURL: ts.URL, Token: token, IDProperty: "ledger_key", AdoptExisting: true})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(4) // x GOMAXPROCS (2 here): 8 calls in flight
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			batch := make([]crm.Record, 100)
			for i := range batch {
				k := n.Add(1)
				email := fmt.Sprintf("person%d@example.com", k)
				batch[i] = crm.Record{Key: email, Fields: map[string]string{"email": email, "firstname": "Load",
					"lastname": fmt.Sprintf("Visitor %d", k), "phone": "+1 555 000 0000", "ledger_sources": "leadflo",
					"ledger_lead_ids": "6d06423a-12df-54f3-923c-7111dd097d38"}}
			}
			if _, err := c.Upsert(context.Background(), batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "contacts/s")
}
