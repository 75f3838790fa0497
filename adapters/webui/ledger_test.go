package webui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/adapters/vendors"
	"github.com/leadledger/leadledger/adapters/webui"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// The tokens are long and distinctive so that a test finds them wherever they leak.
const (
	operatorToken = "ui-operator-token-7d1f0c2b9e"
	auditorToken  = "ui-auditor-token-4a8e61f0d3"
	hubspotToken  = "ui-hubspot-token-0b5c7e2a19"
	sinkSecret    = "whsec_c2luay1zaWduaW5nLWtleS1mb3ItdGVzdHMtMzI="
)

var secrets = []string{operatorToken, auditorToken, hubspotToken, sinkSecret}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ledger is the real thing on a fresh database: the store, the lead view, sink delivery, the
// audit tree, and the UI mounted beside the API as serve mounts it.
type ledger struct {
	url         string
	handler     http.Handler // the UI mounted beside the API, as serve mounts it
	store       *eventstore.Store
	view        *projections.LeadView
	registry    *sinks.Registry
	checkpoints *audit.Checkpointer
	logs        *syncBuffer
	hooks       atomic.Int64 // webhook deliveries the receiver acknowledged
	hubspot     *fakehubspot.Server
	receiverURL string
	crmURL      string
	now         atomic.Int64 // added to the UI's clock, to expire sessions
}

func newLedger(t *testing.T, backend string) *ledger {
	t.Helper()
	ctx := context.Background()
	l := &ledger{logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := eventstore.Open(ctx, eventstore.Config{URL: eventstoretest.URL(t, backend), Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	l.store = store
	if l.view, err = projections.NewLeadView(ctx, store, logger); err != nil {
		t.Fatalf("lead view: %v", err)
	}
	if l.registry, err = sinks.NewRegistry(ctx, store, sinks.AllowPrivateURLs(true)); err != nil { // receivers on loopback
		t.Fatalf("sinks: %v", err)
	}
	delivery, err := sinks.NewManager(sinks.Config{PollInterval: 20 * time.Millisecond, Logger: logger, Leads: l.view}, store, l.registry)
	if err != nil {
		t.Fatalf("delivery: %v", err)
	}
	tree, err := audit.NewTree(ctx, store)
	if err != nil {
		t.Fatalf("audit tree: %v", err)
	}
	skey, err := audit.GenerateSigningKey("leadledger-ui-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l.checkpoints = &audit.Checkpointer{Tree: tree, Signer: signer, Every: time.Nanosecond, Log: logger}

	runCtx, stop := context.WithCancel(ctx)
	var readers sync.WaitGroup
	readers.Go(func() { _ = l.view.Run(runCtx) })
	readers.Go(func() { _ = delivery.Run(runCtx) })

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.hooks.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	l.receiverURL = receiver.URL + "/hook"
	l.hubspot = fakehubspot.New(fakehubspot.Config{Token: hubspotToken})
	crm := httptest.NewServer(l.hubspot)
	l.crmURL = crm.URL

	tokens := []config.Token{
		{Name: "ops", Role: config.RoleOperator, Secrets: []string{operatorToken}},
		{Name: "audit", Role: config.RoleAuditor, Secrets: []string{auditorToken}},
	}
	api, err := httpapi.New(httpapi.Config{Tokens: tokens, Leads: l.view, Sinks: l.registry,
		Audit: &httpapi.Audit{Tree: tree, Signer: signer}, MaxBodyBytes: 64 << 10, Logger: logger}, store)
	if err != nil {
		t.Fatalf("api: %v", err)
	}
	ui, err := webui.New(webui.Config{Tokens: tokens, Leads: l.view, Sinks: l.registry, Proofs: tree,
		Sources: []string{"conversica", "whatconverts"}, Logger: logger,
		Now: func() time.Time { return time.Now().Add(time.Duration(l.now.Load())) }}, store)
	if err != nil {
		t.Fatalf("ui: %v", err)
	}
	l.handler = webui.Mount(ui, api)
	srv := httptest.NewServer(l.handler)
	l.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		stop()
		readers.Wait()
		receiver.Close()
		crm.Close()
		_ = store.Close()
		for _, s := range secrets {
			if strings.Contains(l.logs.String(), s) {
				t.Errorf("a secret appears in the logs: %q", s)
			}
		}
	})
	return l
}

// append stores a vendor's body as the ingest endpoint would, and waits for the lead view.
func (l *ledger) append(t *testing.T, source, vendor, body string) domain.Event {
	t.Helper()
	return l.appendAll(t, source, vendor, body)[0]
}

// appendAll stores several bodies of one source in one append, and waits for the lead view.
func (l *ledger) appendAll(t *testing.T, source, vendor string, bodies ...string) []domain.Event {
	t.Helper()
	parse, _ := vendors.ForVendor(vendor)
	events := make([]domain.Event, len(bodies))
	for i, body := range bodies {
		parsed, err := parse([]byte(body))
		if err != nil {
			t.Fatalf("parse %s body: %v", vendor, err)
		}
		events[i] = domain.NewEvent(source, vendor, parsed, []byte(body), time.Now())
	}
	stored, err := l.store.Append(context.Background(), events...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	last := stored[len(stored)-1].Position
	if err := l.view.WaitFor(context.Background(), last, 10*time.Second); err != nil {
		t.Fatalf("lead view did not reach position %d: %v", last, err)
	}
	return stored
}

// story is what seed stored: a few people, a checkpoint, an event after it, and two sinks.
type story struct {
	john, evil       domain.Event
	sarah            []domain.Event // new, update, the same update again (a duplicate)
	checkpoint       audit.Checkpoint
	webhook, hubspot sinks.Sink
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../vendors/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func whatConverts(trigger, updated, phone string) string {
	return fmt.Sprintf(`{"trigger":%q,"lead_id":"880123","lead_type":"Web Form","date_created":"2026-03-02T09:00:00Z",
"last_updated":%q,"contact_name":"Sarah Connor","contact_email_address":"Sarah@Example.com","contact_phone_number":%q,
"contact_company_name":"Cyberdyne","lead_source":"google","lead_medium":"cpc","lead_campaign":"spring",
"additional_fields":{"Budget":"12000"}}`, trigger, updated, phone)
}

// seed stores the story every UI test reads.
func (l *ledger) seed(t *testing.T) story {
	t.Helper()
	ctx := context.Background()
	var s story
	s.john = l.append(t, "conversica", "conversica", readTestdata(t, "conversica-lead.json"))
	s.sarah = append(s.sarah, l.append(t, "whatconverts", "whatconverts", whatConverts("new", "2026-03-02T09:00:00Z", "+1 555 0100")))
	update := whatConverts("update", "2026-03-03T10:30:00Z", "+1 555 0199")
	s.sarah = append(s.sarah, l.append(t, "whatconverts", "whatconverts", update))
	s.evil = l.append(t, "conversica", "conversica", `{"firstName":"<img src=x onerror=alert(1)>","lastName":"<script>alert(2)</script>",
"email":"evil@example.com","conversationHistory":"</pre><b>bold</b>"}`)
	var err error
	if s.checkpoint, err = l.checkpoints.Step(ctx); err != nil {
		t.Fatalf("sign a checkpoint: %v", err)
	}
	// WhatConverts sends the same update again after the checkpoint: a duplicate, not in it yet.
	s.sarah = append(s.sarah, l.append(t, "whatconverts", "whatconverts", update))

	if s.webhook, err = l.registry.Create(ctx, sinks.NewSink{Name: "crm-webhook", Type: sinks.TypeWebhook,
		URL: l.receiverURL, Secret: sinkSecret, Start: "beginning"}); err != nil {
		t.Fatalf("create webhook sink: %v", err)
	}
	cfg, _ := json.Marshal(map[string]string{"base_url": l.crmURL, "token": hubspotToken})
	if s.hubspot, err = l.registry.Create(ctx, sinks.NewSink{Name: "hubspot", Type: "hubspot", Config: cfg, Start: "beginning"}); err != nil {
		t.Fatalf("create hubspot sink: %v", err)
	}
	head, _ := l.store.Head(ctx)
	waitUntil(t, "both sinks through the log", func() bool {
		w, err1 := l.registry.Sink(ctx, s.webhook.ID)
		h, err2 := l.registry.Sink(ctx, s.hubspot.ID)
		return err1 == nil && err2 == nil && w.Position == head && h.Position == head
	})
	waitUntil(t, "Sarah's record in HubSpot", func() bool {
		d, err := l.registry.Destinations(ctx, s.sarah[0].LeadID)
		return err == nil && len(d) == 1
	})
	return s
}

func (l *ledger) sinkStatus(t *testing.T, id uuid.UUID) sinks.Status {
	t.Helper()
	s, err := l.registry.Sink(context.Background(), id)
	if err != nil {
		t.Fatalf("read sink: %v", err)
	}
	return s.Status
}

// waitUntil polls a condition until it holds, or fails the test after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
