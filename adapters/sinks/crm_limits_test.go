package sinks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// An events-mode HubSpot sink without a rate limit of its own, against a HubSpot that answers
// three requests per 300 ms, gets 429s and waits them out: every event is delivered, per lead
// in order, every person's contact holds the merged view, and nothing ends as a dead letter or
// leaves the sink failing.
func TestHubSpot429StormEventsMode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		emails := l.people(t, 6)
		head := l.head(t)
		fake, base := newFakeHubSpot(t, fakehubspot.Config{RateLimit: 3, RateWindow: 300 * time.Millisecond})
		n := hubspotSink(t, base) // rate_limit off: only HubSpot's 429s hold it back
		n.Mode, n.Start = sinks.ModeEvents, "beginning"
		sink := l.addCRMSink(t, n)

		waitFor(t, "the sink to reach the head", 30*time.Second, func() bool { return l.sink(t, sink.ID).Position >= head })
		s := l.sink(t, sink.ID)
		if s.Status != sinks.StatusActive || s.Delivered != head || s.Failed != 0 {
			t.Errorf("sink: status %s, %d delivered, %d failed; want active, all %d events delivered", s.Status, s.Delivered, s.Failed, head)
		}
		if fake.Throttled() == 0 {
			t.Errorf("HubSpot answered no 429: the storm did not happen, the test proves nothing")
		}
		checkNoDeadLetters(t, l, sink.ID)
		checkAttemptsInOrder(t, l, sink.ID, head)
		for _, email := range emails {
			checkContact(t, l, fake, email)
		}
	})
}

// A snapshot sink whose rate limit matches HubSpot's (5 requests a second) paces itself: a run
// of live updates to different people, each a call of its own, gets no 429.
func TestHubSpotSinkPacesItself(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		emails := l.people(t, 8)
		fake, base := newFakeHubSpot(t, fakehubspot.Config{RateLimit: 5, RateWindow: time.Second})
		n := hubspotSink(t, base)
		n.RateLimit = &sinks.RateLimit{Requests: 5, PerSeconds: 1}
		sink := l.addCRMSink(t, n)

		start := time.Now()
		for i, email := range emails { // one after the other: each its own page, so its own call
			phone := fmt.Sprintf("+1555777%04d", i)
			l.post(t, "whatconverts", "whatconverts", fmt.Sprintf(`{"trigger":"update","lead_id":%d,"last_updated":"2026-02-01T10:00:00Z",
				"contact_email_address":%q,"contact_phone_number":%q}`, 5000+i, email, phone))
			waitFor(t, "update of "+email+" in HubSpot", 20*time.Second, func() bool {
				c, _ := fake.Contact("ledger_key", email)
				return strings.Contains(c.Properties["phone"], phone[2:])
			})
		}
		if fake.Calls() <= 5 {
			t.Fatalf("%d calls: not more than HubSpot's limit, the test proves nothing", fake.Calls())
		}
		if fake.Throttled() != 0 {
			t.Errorf("HubSpot answered %d of %d calls with 429: the sink did not keep to its rate limit", fake.Throttled(), fake.Calls())
		}
		if s := l.sink(t, sink.ID); s.Status != sinks.StatusActive {
			t.Errorf("sink %s (%s), want active", s.Status, s.LastError)
		}
		t.Logf("%d calls in %s", fake.Calls(), time.Since(start).Round(time.Millisecond))
	})
}

// A daily limit parks a snapshot sink: it shows failing, names the limit in last_error, and
// sets retry_at (up to an hour ahead). While parked it asks nothing of HubSpot: not after a
// restart of the engine either, even though HubSpot's day began again meanwhile (the ledger
// cannot know that; it tries again at retry_at, which a test cannot wait for).
func TestHubSpotDailyLimitParksSink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		cfg := fastConfig()
		l := openCRMLedger(t, url, cfg)
		l.people(t, 3)
		head := l.head(t)
		fake, base := newFakeHubSpot(t, fakehubspot.Config{DailyLimit: 1})
		n := hubspotSink(t, base)
		n.Start = "beginning"
		sink := l.addCRMSink(t, n)
		waitFor(t, "the first call of the day", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position >= head })

		update := l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_email_address":"person1@example.com","contact_phone_number":"+15559990001"}`)
		waitFor(t, "the sink to show failing", 20*time.Second, func() bool { return l.sink(t, sink.ID).Status == sinks.StatusFailing })
		parked := l.sink(t, sink.ID)
		checkParked(t, parked, update.Position)
		if c, _ := fake.Contact("ledger_key", "person1@example.com"); strings.Contains(c.Properties["phone"], "5559990001") || fake.Throttled() == 0 {
			t.Errorf("phone %q, %d 429s: want the update refused by the daily limit", c.Properties["phone"], fake.Throttled())
		}
		checkNoDeadLetters(t, l, sink.ID)

		calls := fake.Calls()
		fake.ResetDaily()
		l.stop()
		cfg.Leads, cfg.Logger, cfg.CRMConcurrency = l.view, slog.New(slog.NewTextHandler(l.logs, nil)), 4
		l.stop = l.startEngine(t, cfg)
		l.renewals(t, sink.ID, 3) // the restarted stream went round its loop: it had its chance to call
		if fake.Calls() != calls {
			t.Errorf("the restarted engine made %d calls before retry_at", fake.Calls()-calls)
		}
		after := l.sink(t, sink.ID)
		checkParked(t, after, update.Position)
		if !after.RetryAt.Equal(*parked.RetryAt) {
			t.Errorf("retry_at moved from %s to %s across a restart", parked.RetryAt, after.RetryAt)
		}
	})
}

// An operator who resumes a sink parked by a daily limit must not be told it is active while
// it sits idle until retry_at: once resumed it either tries again (and, the limit still
// holding, parks again) or goes on showing the park.
func TestHubSpotResumeOfParkedSink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		l.people(t, 2)
		head := l.head(t)
		_, base := newFakeHubSpot(t, fakehubspot.Config{DailyLimit: 1})
		n := hubspotSink(t, base)
		n.Start = "beginning"
		sink := l.addCRMSink(t, n)
		waitFor(t, "the first call of the day", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position >= head })
		update := l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_email_address":"person1@example.com","contact_phone_number":"+15559990001"}`)
		waitFor(t, "the sink to park", 20*time.Second, func() bool { return l.sink(t, sink.ID).Status == sinks.StatusFailing })

		if _, err := l.registry.Pause(context.Background(), sink.ID); err != nil {
			t.Fatal(err)
		}
		l.stopped(t, "sinks", sink.ID)
		if _, err := l.registry.Resume(context.Background(), sink.ID); err != nil {
			t.Fatal(err)
		}
		l.renewals(t, sink.ID, 3)
		s := l.sink(t, sink.ID)
		if s.Position < update.Position && (s.Status != sinks.StatusFailing || s.RetryAt == nil) {
			t.Errorf("resumed parked sink: status %s, retry_at %v, position %d before the update at %d: "+
				"it neither tried again nor shows the park", s.Status, s.RetryAt, s.Position, update.Position)
		}
	})
}

// The contract's park holds for an events-mode sink too: the first refusal for a daily limit
// shows failing, with last_error naming the limit and retry_at set, since the event waits up to
// an hour for its next attempt.
func TestHubSpotDailyLimitParksEventsModeSink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		l.people(t, 2)
		_, base := newFakeHubSpot(t, fakehubspot.Config{DailyLimit: 1})
		n := hubspotSink(t, base)
		n.Mode = sinks.ModeEvents
		sink := l.addCRMSink(t, n) // start now: nothing to write yet
		update := l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_phone_number":"+15559990001"}`)
		waitFor(t, "the call of the day", 20*time.Second, func() bool { return l.sink(t, sink.ID).Position >= update.Position })

		update = l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5000,"last_updated":"2026-02-01T10:00:00Z","contact_phone_number":"+15559990000"}`)
		waitFor(t, "the refused attempt, saved with its outcome", 20*time.Second, func() bool {
			a, err := l.registry.Attempts(context.Background(), sink.ID, 0, 100, &update.ID)
			return err == nil && len(a) > 0
		})
		checkParked(t, l.sink(t, sink.ID), update.Position)
	})
}

// A HubSpot sink with a wrong token shows failing, with a last_error that says the credentials
// were refused without quoting the token (here echoed back by a proxy in front of HubSpot).
// Nothing is written, nothing is dead-lettered (the records are fine, the sink is not), and
// the cursor stays, so a sink with the right token would deliver everything.
func TestHubSpotWrongTokenFails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		l.people(t, 3)
		fake := fakehubspot.New(fakehubspot.Config{Token: hubspotToken})
		srv := httptest.NewServer(echoingToken(fake))
		t.Cleanup(srv.Close)
		const wrong = "pat-na1-99999999-8888-7777-6666-000000000000"
		n := hubspotSink(t, srv.URL)
		n.Start, n.Config = "beginning", rawConfig(t, map[string]string{"base_url": srv.URL, "token": wrong, "id_property": "ledger_key"})
		sink := l.addCRMSink(t, n)

		waitFor(t, "the sink to show failing", 20*time.Second, func() bool { return l.sink(t, sink.ID).Status == sinks.StatusFailing })
		s := l.sink(t, sink.ID)
		if strings.Contains(s.LastError, wrong) || strings.Contains(l.logs.String(), wrong) {
			t.Errorf("the token is in last_error %q or in the log", s.LastError)
		}
		if e := strings.ToLower(s.LastError); !strings.Contains(e, "credentials") && !strings.Contains(e, "401") && !strings.Contains(e, "unauthorized") {
			t.Errorf("last_error %q does not say the credentials were refused", s.LastError)
		}
		if s.Position != 0 || s.Delivered != 0 || s.Failed != 0 || s.RetryAt != nil {
			t.Errorf("sink: position %d, %d delivered, %d failed, retry_at %v; want the cursor where it was, nothing counted, no park",
				s.Position, s.Delivered, s.Failed, s.RetryAt)
		}
		if len(fake.Contacts()) != 0 || fake.Calls() == 0 {
			t.Errorf("%d contacts after %d calls: want calls refused and nothing written", len(fake.Contacts()), fake.Calls())
		}
		checkNoDeadLetters(t, l, sink.ID)
	})
}

// echoingToken stands in front of a fake HubSpot as a proxy that quotes the request's
// Authorization header in the message of every 401, as careless proxies and gateways do.
func echoingToken(fake http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusUnauthorized {
			var reply map[string]any
			_ = json.Unmarshal(body, &reply)
			reply["message"] = fmt.Sprintf("%v (got %q)", reply["message"], r.Header.Get("Authorization"))
			body, _ = json.Marshal(reply)
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// checkParked asserts what the contract says of a sink that hit a daily limit before the
// event at position: failing, the limit named, retry_at ahead (at most an hour), the event not
// passed.
func checkParked(t *testing.T, s sinks.Sink, position int64) {
	t.Helper()
	if s.Status != sinks.StatusFailing || !strings.Contains(strings.ToLower(s.LastError), "daily") {
		t.Errorf("sink status %s, last_error %q: want failing, naming the daily limit", s.Status, s.LastError)
	}
	if now := time.Now(); s.RetryAt == nil || !s.RetryAt.After(now) || s.RetryAt.After(now.Add(time.Hour+time.Minute)) {
		t.Errorf("retry_at %v: want set, ahead, within the hour", s.RetryAt)
	}
	if s.Position >= position {
		t.Errorf("position %d: the refused event at %d was passed", s.Position, position)
	}
}

func checkNoDeadLetters(t *testing.T, l *crmLedger, sinkID uuid.UUID) {
	t.Helper()
	if f, _, err := l.registry.Failures(context.Background(), sinkID, "", 100); err != nil || len(f) != 0 {
		t.Errorf("dead letters %+v (%v), want none", f, err)
	}
}

// checkContact asserts that a person's HubSpot contact holds the merged lead view.
func checkContact(t *testing.T, l *crmLedger, fake *fakehubspot.Server, email string) {
	t.Helper()
	c, ok := fake.Contact("ledger_key", email)
	if !ok {
		t.Errorf("no contact keyed %s", email)
		return
	}
	for field, want := range map[string]string{
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

// checkAttemptsInOrder asserts that every event up to head was acknowledged, and each lead's
// events in position order.
func checkAttemptsInOrder(t *testing.T, l *crmLedger, sinkID uuid.UUID, head int64) {
	t.Helper()
	attempts, err := l.registry.Attempts(context.Background(), sinkID, 0, 10000, nil)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[int64]bool{}
	last := map[uuid.UUID]int64{}
	for _, a := range attempts {
		if a.Error != "" {
			continue
		}
		if a.Position < last[a.LeadID] {
			t.Errorf("lead %s: position %d written after %d", a.LeadID, a.Position, last[a.LeadID])
		}
		acked[a.Position], last[a.LeadID] = true, max(last[a.LeadID], a.Position)
	}
	for p := int64(1); p <= head; p++ {
		if !acked[p] {
			t.Errorf("event at position %d never acknowledged", p)
		}
	}
}

func (l *crmLedger) head(t *testing.T) int64 {
	t.Helper()
	head, err := l.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// renewals waits until a sink's live lease was renewed n times by its holder: its stream went
// round its loop that often, so whatever it would do by then it has done.
func (l *crmLedger) renewals(t *testing.T, sinkID uuid.UUID, n int) {
	t.Helper()
	var seen []int64
	waitFor(t, fmt.Sprintf("%d renewals of the sink's lease", n), 20*time.Second, func() bool {
		var until int64
		err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT lease_until FROM sinks WHERE id = ?`), sinkID.String()).Scan(&until)
		if err != nil {
			t.Fatalf("read the lease of sink %s: %v", sinkID, err)
		}
		if until != 0 && (len(seen) == 0 || seen[len(seen)-1] != until) {
			seen = append(seen, until)
		}
		return len(seen) > n
	})
}
