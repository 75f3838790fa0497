package sinks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/adapters/standardwebhooks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
	fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
	fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
)

// bodies is a loopback webhook receiver that keeps every body it gets, by event id, as JSON
// fields, after checking its signature.
type bodies struct {
	mu  sync.Mutex
	got map[uuid.UUID]map[string]json.RawMessage
	url string
}

func newBodies(t *testing.T) *bodies {
	b := &bodies{got: map[uuid.UUID]map[string]json.RawMessage{}}
	key, _ := standardwebhooks.DecodeSecret(secret)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !standardwebhooks.Verify([][]byte{key}, req.Header, body, time.Now()) {
			t.Errorf("delivery with a bad signature: %s", body)
		}
		var fields map[string]json.RawMessage
		var id struct{ ID uuid.UUID }
		if err := errors.Join(json.Unmarshal(body, &fields), json.Unmarshal(body, &id)); err != nil {
			t.Errorf("delivery body %s: %v", body, err)
		}
		b.mu.Lock()
		b.got[id.ID] = fields
		b.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

func (b *bodies) all() map[uuid.UUID]map[string]json.RawMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[uuid.UUID]map[string]json.RawMessage, len(b.got))
	for k, v := range b.got {
		out[k] = v
	}
	return out
}

// checkErasedBodies checks the bodies of a lead's erased events (data empty, "erased": true),
// of the other events (as always: data, and no "erased" field at all) and of the erasure.
func checkErasedBodies(t *testing.T, got map[uuid.UUID]map[string]json.RawMessage, events []domain.Event, erasure domain.Event) {
	t.Helper()
	for _, e := range events {
		b, ok := got[e.ID]
		if !ok {
			t.Errorf("event %d was not delivered", e.Position)
			continue
		}
		erased, has := b["erased"]
		switch {
		case e.LeadID == erasure.LeadID:
			if string(erased) != "true" || string(b["data"]) != "{}" || string(b["type"]) != `"`+string(e.Type)+`"` {
				t.Errorf("erased event %d delivered as erased %s, data %s, type %s; want erased true and no data", e.Position, erased, b["data"], b["type"])
			}
		case has || !strings.Contains(string(b["data"]), e.Data.Name):
			t.Errorf("event %d of the other lead delivered with erased %s, data %s; want its data, as before", e.Position, erased, b["data"])
		}
	}
	b, ok := got[erasure.ID]
	if _, has := b["erased"]; !ok || has || string(b["type"]) != `"LeadErased"` || string(b["lead_id"]) != `"`+erasure.LeadID.String()+`"` {
		t.Errorf("the erasure delivered as %v (delivered %v); want a LeadErased event of the lead, not itself erased", b, ok)
	}
}

// A webhook sink gets a lead's events after its erasure with empty data and "erased": true,
// the other lead's as they always were, and the LeadErased event; a sink whose filter takes
// LeadErased events only gets the erasure alone.
func TestWebhookSinkDeliversErasures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		events := l.appendEvents(t, "leadflo", 3, 2) // visitor-0, visitor-1, then visitor-0 again
		erasure, _, err := l.store.Erase(context.Background(), events[0].LeadID, "ops")
		if err != nil {
			t.Fatal(err)
		}
		every, erasures := newBodies(t), newBodies(t)
		all := l.addSink(t, every.url, "beginning", sinks.Filter{})
		only := l.addSink(t, erasures.url, "beginning", sinks.Filter{Types: []domain.EventType{domain.LeadErased}})
		for _, id := range []uuid.UUID{all.ID, only.ID} {
			waitFor(t, "the sinks to deliver the log", 20*time.Second, func() bool { return l.sink(t, id).Position >= erasure.Position })
		}
		checkErasedBodies(t, every.all(), events, erasure)
		if got := erasures.all(); len(got) != 1 || got[erasure.ID] == nil {
			t.Errorf("the sink of LeadErased events got %d events, want the erasure alone", len(got))
		}
	})
}

// A NATS sink publishes the same bodies as a webhook sink: erased events flagged, the erasure
// as an event of its own.
func TestNATSSinkPublishesErasures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		server := startNATSServer(t)
		l := openLedger(t, url, fastConfig())
		events := l.appendEvents(t, "leadflo", 3, 2)
		erasure, _, err := l.store.Erase(context.Background(), events[0].LeadID, "ops")
		if err != nil {
			t.Fatal(err)
		}
		sink, err := l.registry.Create(context.Background(), sinks.NewSink{Name: "stream", Type: sinks.TypeNATS, Start: "beginning",
			Config: rawConfig(t, map[string]string{"url": server, "subject": natsSubject})})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the sink to publish the log", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position >= erasure.Position })
		got := map[uuid.UUID]map[string]json.RawMessage{}
		for _, m := range readSubject(t, jetStream(t, server), len(events)+1) {
			var fields map[string]json.RawMessage
			var id struct{ ID uuid.UUID }
			if err := errors.Join(json.Unmarshal(m.Data, &fields), json.Unmarshal(m.Data, &id)); err != nil {
				t.Fatalf("message %s: %v", m.Data, err)
			}
			got[id.ID] = fields
		}
		checkErasedBodies(t, got, events, erasure)
	})
}

// fakeCRM is one of the fake CRMs as the erasure test drives them.
type fakeCRM struct {
	sink    sinks.NewSink
	calls   func() int
	records func() int
	reject  func(email string) // every write holding email is refused as invalid
}

func newFakeCRM(t *testing.T, kind string) fakeCRM {
	switch kind {
	case sinks.TypeHubSpot:
		fake, base := newFakeHubSpot(t, fakehubspot.Config{})
		return fakeCRM{sink: hubspotSink(t, base), calls: fake.Calls, records: func() int { return len(fake.Contacts()) },
			reject: func(email string) {
				fake.SetReject(func(p map[string]string) string {
					return map[bool]string{true: "Invalid value"}[strings.Contains(fmt.Sprint(p), email)]
				})
			}}
	case sinks.TypeSalesforce:
		fake, base := newFakeSalesforce(t, fakesalesforce.Config{})
		return fakeCRM{sink: salesforceSink(t, base, sinks.KeyEmail), calls: fake.Calls, records: func() int { return len(fake.Leads()) },
			reject: func(email string) {
				fake.SetReject(func(f map[string]string) (string, string) {
					if strings.Contains(fmt.Sprint(f), email) {
						return "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Invalid value"
					}
					return "", ""
				})
			}}
	}
	fake, base := newFakePipedrive(t, fakepipedrive.Config{})
	return fakeCRM{sink: pipedriveSink(t, base), calls: fake.Calls, records: func() int { return len(fake.Persons()) },
		reject: func(email string) {
			fake.SetReject(func(p map[string]any) string {
				return map[bool]string{true: "Invalid value"}[strings.Contains(fmt.Sprint(p), email)]
			})
		}}
}

// A CRM sink, in either mode, sends nothing for an erasure nor for the erased events, and its
// identity map forgets the erased leads: a person's record with no other lead goes, a record
// other leads still make no longer lists the erased one, the erased lead's dead letter goes.
// Nothing of the erased people is left in the SQLite file. A replay over the erased events
// writes the others' records, fails nothing and parks nothing; the person who comes back is
// a new lead of the identity map. The sink takes LeadCaptured and LeadUpdated events only: it
// sees the erasures all the same.
func TestCRMSinkForgetsAnErasedLead(t *testing.T) {
	for _, kind := range []string{sinks.TypeHubSpot, sinks.TypeSalesforce, sinks.TypePipedrive} {
		for _, mode := range []string{sinks.ModeSnapshot, sinks.ModeEvents} {
			t.Run(kind+"/"+mode, func(t *testing.T) {
				forEachBackend(t, func(t *testing.T, url string) { testCRMForgets(t, url, kind, mode) })
			})
		}
	}
}

func testCRMForgets(t *testing.T, url, kind, mode string) {
	ctx := context.Background()
	l := openCRMLedger(t, url, fastConfig())
	crm := newFakeCRM(t, kind)
	crm.reject("dave@example.com")
	n := crm.sink
	n.Start, n.Mode = "beginning", mode
	n.Filter = sinks.Filter{Types: []domain.EventType{domain.LeadCaptured, domain.LeadUpdated}}
	sink := l.addCRMSink(t, n)
	wc := func(id int, name, email string) domain.Event {
		return l.post(t, "whatconverts", "whatconverts", fmt.Sprintf(`{"trigger":"new","lead_id":%d,"last_updated":"2026-01-01T10:00:00Z",
			"contact_name":%q,"contact_email_address":%q,"contact_phone_number":"+1555010%04d"}`, id, name, email, id))
	}
	ann := wc(1, "Ann Erasable", "ann@example.com")
	wc(2, "Bob Kept", "bob@example.com")
	carol := wc(3, "Carol Erasable", "carol@example.com")
	carolToo := l.post(t, "sensei", "sensei", `{"event":"lead.created","data":{"id":"s3","name":"Carol Sensei","email":"carol@example.com"}}`)
	dave := wc(4, "Dave Refused", "dave@example.com")
	synced := func() bool {
		head, _ := l.store.Head(ctx)
		return l.sink(t, sink.ID).Position >= head
	}
	l.caughtUp(t)
	waitFor(t, "the sink to write every record", 30*time.Second, synced)
	records := identityMap(t, l, sink)
	if len(records) != 3 || len(records["carol@example.com"].LeadIDs) != 2 {
		t.Fatalf("identity map before the erasures: %+v, want ann, bob and carol's two leads", records)
	}
	if f, _, err := l.registry.Failures(ctx, sink.ID, "", 10); err != nil || len(f) != 1 || f[0].Item != "dave@example.com" {
		t.Fatalf("dead letters before the erasures: %+v (%v), want dave's", f, err)
	}
	calls, count, failed := crm.calls(), crm.records(), l.sink(t, sink.ID).Failed

	for _, lead := range []uuid.UUID{ann.LeadID, carol.LeadID, dave.LeadID} {
		if _, _, err := l.store.Erase(ctx, lead, "ops"); err != nil {
			t.Fatal(err)
		}
	}
	l.caughtUp(t)
	waitFor(t, "the sink past the erasures", 30*time.Second, synced)
	if got := crm.calls(); got != calls {
		t.Errorf("the erasures cost %d calls to the CRM, want none", got-calls)
	}
	checkForgotten := func(when string) {
		t.Helper()
		records := identityMap(t, l, sink)
		if len(records) != 2 || records["bob@example.com"].Key == "" || !slices.Equal(records["carol@example.com"].LeadIDs, []uuid.UUID{carolToo.LeadID}) {
			t.Errorf("%s: identity map %+v, want bob's record and carol's of her Sensei lead only", when, records)
		}
		for _, lead := range []uuid.UUID{ann.LeadID, carol.LeadID, dave.LeadID} {
			if d, err := l.registry.Destinations(ctx, lead); err != nil || len(d) != 0 {
				t.Errorf("%s: an erased lead's destinations: %+v (%v)", when, d, err)
			}
		}
		if f, _, err := l.registry.Failures(ctx, sink.ID, "", 10); err != nil || len(f) != 0 {
			t.Errorf("%s: dead letters %+v (%v), want dave's gone", when, f, err)
		}
		if s := l.sink(t, sink.ID); s.Status != sinks.StatusActive || s.RetryAt != nil || s.Failed != failed {
			t.Errorf("%s: sink %s, retry at %v, %d failed (%d before): want active, not parked, nothing more failed", when, s.Status, s.RetryAt, s.Failed, failed)
		}
	}
	checkForgotten("after the erasures")
	var hash string
	if err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT hash FROM sink_records WHERE sink_id = ? AND record_key = ?`),
		sink.ID.String(), "carol@example.com").Scan(&hash); err != nil || hash != "" {
		t.Errorf("carol's record keeps hash %q (%v): want none, so her other lead's next change writes it again", hash, err)
	}
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		noTraceOf(t, l.store, path, "bob@example.com", "ann@example.com", "Ann Erasable", "dave@example.com", "Dave Refused")
	}

	rp := l.replay(t, sink.ID, false)
	if rp.Failed != 0 || rp.Delivered != rp.Total {
		t.Errorf("replay over the erased events: %+v, want every event delivered, none failed", rp)
	}
	if got := crm.records(); got != count {
		t.Errorf("the replay left %d records in the CRM, %d before: it must write the others' only", got, count)
	}
	checkForgotten("after a replay")

	back := wc(1, "Ann Returned", "ann@example.com")
	l.caughtUp(t)
	waitFor(t, "the lead that came back in the identity map", 30*time.Second, func() bool {
		return slices.Equal(identityMap(t, l, sink)["ann@example.com"].LeadIDs, []uuid.UUID{back.LeadID})
	})
}

// noTraceOf checkpoints an SQLite database's WAL and fails the test if its files hold any of
// the traces, or do not hold kept (so the search would see a trace).
func noTraceOf(t *testing.T, store *eventstore.Store, path, kept string, traces ...string) {
	t.Helper()
	waitFor(t, "a checkpoint of the whole WAL", 20*time.Second, func() bool {
		var busy, frames, done int
		err := store.DB().QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done)
		return err == nil && busy == 0
	})
	var files []byte
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	for _, trace := range traces {
		if i := bytes.Index(files, []byte(trace)); i >= 0 {
			t.Errorf("the database holds %q at byte %d after the erasure", trace, i)
		}
	}
	if !bytes.Contains(files, []byte(kept)) {
		t.Errorf("the database files do not hold %q: the search cannot see a trace", kept)
	}
}
