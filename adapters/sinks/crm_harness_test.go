package sinks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/adapters/vendors"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/projections"
)

// crmLedger is a ledger whose lead view runs, as CRM sinks need.
type crmLedger struct {
	*ledger
	view *projections.LeadView
	logs *syncBuffer
}

func openCRMLedger(t *testing.T, url string, cfg sinks.Config) *crmLedger {
	t.Helper()
	return openCRMLedgerWith(t, url, cfg, sinks.AllowPrivateURLs(true))
}

// openCRMLedgerWith is openCRMLedger with the registry's options (see openLedgerWith).
func openCRMLedgerWith(t *testing.T, url string, cfg sinks.Config, opts ...sinks.RegistryOption) *crmLedger {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.CRMConcurrency = 4
	base := openLedgerWith(t, url, sinks.Config{PollInterval: time.Hour}, opts...) // its engine idles; ours follows
	base.stop()
	view, err := projections.NewLeadView(context.Background(), base.store, cfg.Logger)
	if err != nil {
		t.Fatalf("lead view: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = view.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg.Leads = view
	l := &crmLedger{ledger: base, view: view, logs: logs}
	l.stop = l.startEngine(t, cfg)
	return l
}

// post appends one vendor body as the ingest endpoint would.
func (l *crmLedger) post(t *testing.T, source, vendor, body string) domain.Event {
	t.Helper()
	parse, _ := vendors.ForVendor(vendor)
	p, err := parse([]byte(body))
	if err != nil {
		t.Fatalf("parse %s body %s: %v", vendor, body, err)
	}
	stored, err := l.store.Append(context.Background(), domain.NewEvent(source, vendor, p, []byte(body), time.Now()))
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return stored[0]
}

// caughtUp waits until the lead view has applied the whole log.
func (l *crmLedger) caughtUp(t *testing.T) {
	t.Helper()
	head, err := l.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.view.WaitFor(context.Background(), head, 30*time.Second); err != nil {
		t.Fatalf("lead view behind: %v", err)
	}
}

func (l *crmLedger) addCRMSink(t *testing.T, n sinks.NewSink) sinks.Sink {
	t.Helper()
	if n.Name == "" {
		n.Name = n.Type
	}
	s, err := l.registry.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("create %s sink: %v", n.Type, err)
	}
	return s
}

func (l *crmLedger) replay(t *testing.T, sinkID uuid.UUID, onlyChanged bool) sinks.Replay {
	t.Helper()
	from := int64(0)
	rp, err := l.registry.StartReplay(context.Background(), sinkID, sinks.NewReplay{FromPosition: &from, OnlyChanged: onlyChanged})
	if err != nil {
		t.Fatalf("start replay: %v", err)
	}
	waitFor(t, "the replay to complete", 60*time.Second, func() bool {
		got, err := l.registry.Replay(context.Background(), rp.ID)
		rp = got
		return err == nil && got.Status == sinks.ReplayCompleted
	})
	return rp
}

// people seeds n people across vendors: every person has a WhatConverts lead (new, two updates,
// one re-sent, one older arriving last); every third also came through Conversica with the same
// email in other case and spaces; every fifth through Sensei. Person 7k has an email HubSpot
// refuses. It returns the normalised emails.
func (l *crmLedger) people(t *testing.T, n int) []string {
	t.Helper()
	var emails []string
	for i := range n {
		email := fmt.Sprintf("person%d@example.com", i)
		emails = append(emails, email)
		wc := func(trigger, updated, phone string) string {
			return fmt.Sprintf(`{"trigger":%q,"lead_id":%d,"lead_type":"Web Form","last_updated":%q,"date_created":"2026-01-01T10:00:00Z",
				"contact_name":"WC Name %d","contact_email_address":%q,"contact_phone_number":%q,"lead_source":"google","lead_campaign":"c%d"}`,
				trigger, 5000+i, updated, i, email, phone, i)
		}
		l.post(t, "whatconverts", "whatconverts", wc("new", "2026-01-01T10:00:00Z", fmt.Sprintf("+1555000%04d", i)))
		newest := wc("update", "2026-01-03T10:00:00Z", fmt.Sprintf("+1555300%04d", i))
		l.post(t, "whatconverts", "whatconverts", newest)
		l.post(t, "whatconverts", "whatconverts", newest)                                                               // re-sent: duplicate
		l.post(t, "whatconverts", "whatconverts", wc("update", "2026-01-02T10:00:00Z", fmt.Sprintf("+1555200%04d", i))) // stale
		if i%3 == 0 {
			l.post(t, "conversica", "conversica", fmt.Sprintf(`{"firstName":"Conv%d","lastName":"Ersation","email":"  Person%d@EXAMPLE.com ",
				"conversationHistory":"2026-01-04T10:00:00 Person: hello"}`, i, i))
		}
		if i%5 == 0 {
			l.post(t, "sensei", "sensei", fmt.Sprintf(`{"event":"lead.created","timestamp":"2026-01-05T10:00:00Z",
				"data":{"id":"s-%d","name":"Sensei Person %d","email":%q,"phone":null,"clientName":"Company %d"}}`, i, i, email, i))
		}
	}
	l.caughtUp(t)
	return emails
}

// merged is what the contract says a person's record holds for a lead field: the value of the
// most recently updated of the person's leads that has one.
func merged(t *testing.T, view *projections.LeadView, email string, field func(domain.Lead) string) string {
	t.Helper()
	leads, err := view.LeadsByEmail(context.Background(), []string{email})
	if err != nil || len(leads) == 0 {
		t.Fatalf("leads of %s: %v (%d)", email, err, len(leads))
	}
	slices.SortFunc(leads, func(a, b domain.Lead) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return int(b.LastPosition - a.LastPosition)
	})
	for _, l := range leads {
		if v := field(l); v != "" {
			return v
		}
	}
	return ""
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func rawConfig(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
