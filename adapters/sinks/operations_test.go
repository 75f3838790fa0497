package sinks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
)

// newSecret is the secret the rotation tests rotate to.
const newSecret = "whsec_bmV3LXNpZ25pbmcta2V5LWFmdGVyLXJvdGF0aW9uIQ=="

func (l *ledger) hubspotSink(t *testing.T) sinks.Sink {
	t.Helper()
	s, err := l.registry.Create(context.Background(), sinks.NewSink{Name: "hs", Type: sinks.TypeHubSpot,
		Config: rawConfig(t, map[string]string{"token": hubspotToken, "base_url": "http://127.0.0.1:9"})})
	if err != nil {
		t.Fatalf("create hubspot sink: %v", err)
	}
	return s
}

// bodyID is the id in a delivery's body.
func bodyID(t *testing.T, r request) string {
	t.Helper()
	var b struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("delivery body %s: %v", r.body, err)
	}
	return b.ID
}

// A change of url and filter reaches the running delivery without a restart: the events
// after it go to the new receiver, narrowed by the new filter; the old receiver gets no more.
func TestUpdateReachesRunningDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, fastConfig())
		before, after := newRecorder(t, http.StatusOK), newRecorder(t, http.StatusOK)
		s := l.addSink(t, before.srv.URL, "now", sinks.Filter{})
		l.appendEvents(t, "leadflo", 3, 3)
		waitFor(t, "the first events", 10*time.Second, func() bool { return len(before.requests()) == 3 })

		name := "renamed"
		changed, err := l.registry.Update(ctx, s.ID, sinks.SinkPatch{Name: &name, URL: &after.srv.URL,
			Filter: &sinks.Filter{Sources: []string{"other"}}})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if changed.Name != "renamed" || changed.URL != after.srv.URL || changed.Secret != secret {
			t.Errorf("updated sink = %+v", changed)
		}
		l.appendEvents(t, "leadflo", 2, 2) // left out by the new filter
		wanted := l.appendEvents(t, "other", 2, 2)
		waitFor(t, "the events after the change", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == wanted[1].Position })
		var got []string
		for _, r := range after.requests() {
			got = append(got, bodyID(t, r))
		}
		slices.Sort(got)
		if want := []string{wanted[0].ID.String(), wanted[1].ID.String()}; !slices.Equal(got, want) && !slices.Equal(got, []string{want[1], want[0]}) {
			t.Errorf("the new receiver got %v, want only the events of source other %s, %s", got, wanted[0].ID, wanted[1].ID)
		}
		if n := len(before.requests()); n != 3 {
			t.Errorf("the old receiver got %d requests, want the 3 from before the change", n)
		}
	})
}

// A change is checked against the sink's type, naming the field; an unknown sink is not found.
func TestUpdateRefusesWhatTheSinkCannotTake(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, sinks.Config{PollInterval: time.Hour})
		hook := l.addSink(t, "http://127.0.0.1:9/hook", "now", sinks.Filter{})
		crm := l.hubspotSink(t)
		empty, bad := "", "ftp://x"
		for _, c := range []struct {
			id    uuid.UUID
			patch sinks.SinkPatch
			want  string
		}{
			{hook.ID, sinks.SinkPatch{Name: &empty}, "Invalid name"},
			{hook.ID, sinks.SinkPatch{URL: &bad}, "Invalid url"},
			{hook.ID, sinks.SinkPatch{Filter: &sinks.Filter{Types: []domain.EventType{"Nope"}}}, "Invalid filter.types"},
			{hook.ID, sinks.SinkPatch{RateLimit: &sinks.RateLimit{Requests: 1, PerSeconds: 1}}, "Invalid field: mapping and rate_limit are for CRM sinks"},
			{crm.ID, sinks.SinkPatch{URL: &hook.URL}, "Invalid field: url is for webhook sinks"},
			{crm.ID, sinks.SinkPatch{RateLimit: &sinks.RateLimit{Requests: 1}}, "Invalid rate_limit"},
			{crm.ID, sinks.SinkPatch{Mapping: &sinks.Mapping{"shoe_size": "x"}}, "Invalid mapping"},
			{crm.ID, sinks.SinkPatch{Mapping: &sinks.Mapping{}}, "Invalid mapping: must map at least one lead field"},
		} {
			_, err := l.registry.Update(ctx, c.id, c.patch)
			if !errors.Is(err, sinks.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("update %+v: %v, want %q", c.patch, err, c.want)
			}
		}
		limit := sinks.RateLimit{Requests: 7, PerSeconds: 3}
		got, err := l.registry.Update(ctx, crm.ID, sinks.SinkPatch{RateLimit: &limit, Mapping: &sinks.Mapping{"email": "email"}})
		if err != nil || got.RateLimit != limit || len(got.Mapping) != 1 || got.Name != "hs" {
			t.Errorf("CRM update = %+v, %v", got, err)
		}
		if _, err := l.registry.Update(ctx, uuid.New(), sinks.SinkPatch{Name: &hook.Name}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("update of an unknown sink: %v, want not found", err)
		}
	})
}

// During a rotation's overlap every delivery is signed with both secrets, the new first: a
// receiver holding only the old secret and one holding only the new one both accept it, by our
// verifier and by the reference library. After the overlap only the new secret signs.
func TestRotationOverlap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, fastConfig())
		rcv := newRecorder(t, http.StatusOK)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		l.appendEvents(t, "leadflo", 1, 1)
		waitFor(t, "a delivery before the rotation", 10*time.Second, func() bool { return len(rcv.requests()) == 1 })

		const overlap = 3 * time.Second
		rotated, err := l.registry.RotateSecret(ctx, s.ID, sinks.NewSecret{Secret: newSecret, ExpireOldAfter: overlap.String()})
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if rotated.Generated != "" || rotated.Sink.Secret != newSecret || rotated.Sink.OldSecret != secret {
			t.Fatalf("rotation = generated %q, secret %q, old %q", rotated.Generated, rotated.Sink.Secret, rotated.Sink.OldSecret)
		}
		// The delivery restarts with both secrets within a moment: wait for the first request
		// signed twice, then every later one during the overlap must be too.
		var during []request
		waitFor(t, "a delivery signed with both secrets", 10*time.Second, func() bool {
			l.appendEvents(t, "leadflo", 1, 1)
			time.Sleep(50 * time.Millisecond)
			for i, r := range rcv.requests() {
				if strings.Count(r.header.Get("webhook-signature"), "v1,") == 2 {
					during = rcv.requests()[i:]
					return true
				}
			}
			return false
		})
		more := l.appendEvents(t, "leadflo", 3, 3)
		waitFor(t, "the deliveries during the overlap", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == more[2].Position })
		during = rcv.requests()[len(rcv.requests())-len(during)-3:]
		if time.Now().After(rotated.ExpiresAt) {
			t.Fatalf("the overlap ended before the test could check it: the machine is too slow")
		}
		var checks []struct {
			secret string
			req    request
		}
		for _, r := range during {
			sigs := strings.Fields(r.header.Get("webhook-signature"))
			if len(sigs) != 2 {
				t.Fatalf("a delivery during the overlap carries %d signatures, want 2", len(sigs))
			}
			onlyNew := r
			onlyNew.header = r.header.Clone()
			onlyNew.header.Set("webhook-signature", sigs[0])
			if !verifies(t, newSecret, onlyNew) {
				t.Errorf("the first signature is not the new secret's")
			}
			if !verifies(t, secret, r) || !verifies(t, newSecret, r) {
				t.Errorf("during the overlap: old secret accepts %v, new accepts %v; want both", verifies(t, secret, r), verifies(t, newSecret, r))
			}
			checks = append(checks, struct {
				secret string
				req    request
			}{secret, r}, struct {
				secret string
				req    request
			}{newSecret, r})
		}

		time.Sleep(time.Until(rotated.ExpiresAt) + 50*time.Millisecond)
		n := len(rcv.requests())
		late := l.appendEvents(t, "leadflo", 2, 2)
		waitFor(t, "the deliveries after the overlap", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == late[1].Position })
		afterOverlap := rcv.requests()[n:]
		if len(afterOverlap) != 2 {
			t.Fatalf("%d deliveries after the overlap, want 2", len(afterOverlap))
		}
		waitFor(t, "the expired old secret forgotten", 5*time.Second, func() bool {
			var old string
			err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT old_secret FROM sinks WHERE id = ?`), s.ID.String()).Scan(&old)
			return err == nil && old == ""
		})
		for _, r := range afterOverlap {
			if verifies(t, secret, r) || !verifies(t, newSecret, r) || len(strings.Fields(r.header.Get("webhook-signature"))) != 1 {
				t.Errorf("after the overlap: signature %q; want the new secret's only", r.header.Get("webhook-signature"))
			}
			checks = append(checks, struct {
				secret string
				req    request
			}{newSecret, r}, struct {
				secret string
				req    request
			}{secret, r})
		}
		verdicts := referenceVerdicts(t, checks)
		last := len(verdicts) - 4
		for i, v := range verdicts[:last] {
			if v != "ok" {
				t.Errorf("reference library, during the overlap, check %d: %s", i, v)
			}
		}
		for i := last; i < len(verdicts); i += 2 {
			if verdicts[i] != "ok" || verdicts[i+1] == "ok" {
				t.Errorf("reference library after the overlap: new secret %q, old secret %q; want ok, refused", verdicts[i], verdicts[i+1])
			}
		}
	})
}

// A rotation without a secret generates one, returned once; the overlap is bounded; the old
// secret is sealed at rest like the secret, and both are blanked when the sink is deleted.
func TestRotationGeneratesAndSealsSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, sinks.Config{PollInterval: time.Hour})
		if _, err := l.registry.UseKeyring(ctx, newKeyring(t)); err != nil {
			t.Fatal(err)
		}
		s := l.addSink(t, "http://127.0.0.1:9/hook", "now", sinks.Filter{})
		for _, bad := range []sinks.NewSecret{{ExpireOldAfter: "169h"}, {ExpireOldAfter: "-1s"}, {ExpireOldAfter: "soon"}, {Secret: "plain"}} {
			if _, err := l.registry.RotateSecret(ctx, s.ID, bad); !errors.Is(err, sinks.ErrInvalid) {
				t.Errorf("rotation %+v: %v, want invalid", bad, err)
			}
		}
		rotated, err := l.registry.RotateSecret(ctx, s.ID, sinks.NewSecret{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rotated.Generated, "whsec_") || rotated.Generated == secret {
			t.Fatalf("generated secret %q", rotated.Generated)
		}
		if d := time.Until(rotated.ExpiresAt); d < sinks.DefaultOverlap-time.Minute || d > sinks.DefaultOverlap {
			t.Errorf("default overlap ends in %s, want 24h", d)
		}
		read := l.sink(t, s.ID)
		if read.Secret != rotated.Generated || read.OldSecret != secret || read.OldSecretExpiresAt == nil {
			t.Errorf("read back: secret generated %v, old %v, expiry %v", read.Secret == rotated.Generated, read.OldSecret == secret, read.OldSecretExpiresAt)
		}
		var stored, old string
		if err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT secret, old_secret FROM sinks WHERE id = ?`), s.ID.String()).Scan(&stored, &old); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored+old, "whsec_") {
			t.Errorf("a secret is stored in plain text: %q %q", stored, old)
		}
		if _, err := l.registry.RotateSecret(ctx, l.hubspotSink(t).ID, sinks.NewSecret{}); !errors.Is(err, sinks.ErrInvalid) {
			t.Errorf("rotation of a CRM sink: %v, want invalid", err)
		}
		if err := l.registry.Delete(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT secret, old_secret FROM sinks WHERE id = ?`), s.ID.String()).Scan(&stored, &old); err != nil || stored+old != "" {
			t.Errorf("a deleted sink keeps its secrets: %q %q (%v)", stored, old, err)
		}
	})
}

// A test delivery is one signed ping, answered with what the receiver said (a 500 too), and
// recorded nowhere; an unreachable receiver is reported, not an error; other sink types refuse.
func TestPingReportsTheAnswer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, fastConfig())
		rcv := newRecorder(t, http.StatusInternalServerError)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		res, err := l.registry.Ping(ctx, s.ID)
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
		if res.StatusCode != 500 || !strings.Contains(res.Error, "500") || res.Latency <= 0 || !strings.HasPrefix(res.WebhookID, "ping_") {
			t.Errorf("ping = %+v, want the receiver's 500", res)
		}
		got := rcv.requests()
		if len(got) != 1 || !verifies(t, secret, got[0]) || got[0].header.Get("webhook-id") != res.WebhookID {
			t.Fatalf("the receiver got %d requests; want one signed ping", len(got))
		}
		var body struct{ ID, Type, SinkID string }
		_ = json.Unmarshal(got[0].body, &body)
		if body.Type != sinks.EventTypePing || body.ID != res.WebhookID {
			t.Errorf("ping body %s", got[0].body)
		}
		rcv.answer(http.StatusNoContent)
		if res, err := l.registry.Ping(ctx, s.ID); err != nil || res.StatusCode != 204 || res.Error != "" {
			t.Errorf("ping of a receiver answering 204 = %+v, %v", res, err)
		}
		if a, err := l.registry.Attempts(ctx, s.ID, 0, 10, nil); err != nil || len(a) != 0 {
			t.Errorf("pings recorded as attempts: %d (%v)", len(a), err)
		}
		if read := l.sink(t, s.ID); read.Delivered != 0 || read.Failed != 0 || read.LastError != "" {
			t.Errorf("pings counted by the sink: %+v", read)
		}

		down := l.addSink(t, "http://127.0.0.1:9/hook?token=s3cret-in-query", "now", sinks.Filter{})
		res, err = l.registry.Ping(ctx, down.ID)
		if err != nil || res.StatusCode != 0 || !strings.Contains(res.Error, "request failed") || strings.Contains(res.Error, "s3cret") {
			t.Errorf("ping of an unreachable receiver = %+v, %v", res, err)
		}
		if _, err := l.registry.Ping(ctx, l.hubspotSink(t).ID); !errors.Is(err, sinks.ErrInvalid) {
			t.Errorf("ping of a CRM sink: %v, want invalid", err)
		}
		if _, err := l.registry.Ping(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("ping of an unknown sink: %v, want not found", err)
		}
	})
}

// A redelivery sends one event again now, signed, with its own id as webhook-id, and is
// recorded as a manual attempt numbered after the earlier ones.
func TestRedeliverOneEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, fastConfig())
		rcv := newRecorder(t, http.StatusOK)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 3, 3)
		waitFor(t, "the live deliveries", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == events[2].Position })

		a, err := l.registry.Redeliver(ctx, events[1].ID, s.ID)
		if err != nil {
			t.Fatalf("redeliver: %v", err)
		}
		got := rcv.requests()
		if len(got) != 4 {
			t.Fatalf("%d requests, want the 3 live and the redelivery", len(got))
		}
		last := got[3]
		if last.header.Get("webhook-id") != events[1].ID.String() || bodyID(t, last) != events[1].ID.String() || !verifies(t, secret, last) {
			t.Errorf("redelivery: webhook-id %q, body id %q; want the event's, signed", last.header.Get("webhook-id"), bodyID(t, last))
		}
		if last.header.Get(sinks.HeaderReplay) != "" {
			t.Errorf("a redelivery carries %s", sinks.HeaderReplay)
		}
		if !a.Manual || a.Number != 2 || a.StatusCode != 200 || a.Error != "" || a.EventID != events[1].ID || a.ID == 0 || a.ReplayID != nil {
			t.Errorf("redelivery attempt = %+v", a)
		}
		listed, err := l.registry.Attempts(ctx, s.ID, 0, 100, &events[1].ID)
		if err != nil || len(listed) != 2 || listed[1].ID != a.ID || !listed[1].Manual || listed[0].Manual {
			t.Errorf("attempts of the event = %+v (%v); want the live one, then the manual one", listed, err)
		}
		if _, err := l.registry.Redeliver(ctx, uuid.New(), s.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("redeliver an unknown event: %v, want not found", err)
		}
		if _, err := l.registry.Redeliver(ctx, events[0].ID, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("redeliver to an unknown sink: %v, want not found", err)
		}
		if _, err := l.registry.Redeliver(ctx, events[0].ID, l.hubspotSink(t).ID); !errors.Is(err, sinks.ErrNotForSinkType) {
			t.Errorf("redeliver to a CRM sink: %v, want ErrNotForSinkType", err)
		}
	})
}

// A failed delivery's attempt shows when it is tried next; the attempt before it, the
// acknowledged one, and any of a paused sink show none.
func TestNextAttemptAt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		cfg := fastConfig()
		cfg.Backoff = sinks.Backoff{Base: time.Second, Max: time.Second, MaxAttempts: 100}
		l := openLedger(t, url, cfg)
		rcv := newRecorder(t, http.StatusServiceUnavailable)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		e := l.appendEvents(t, "leadflo", 1, 1)[0]
		attempts := func() []sinks.Attempt {
			a, err := l.registry.Attempts(ctx, s.ID, 0, 100, &e.ID)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		waitFor(t, "two failed attempts saved", 10*time.Second, func() bool { return len(attempts()) == 2 })
		a := attempts()
		if a[0].NextAttemptAt != nil {
			t.Errorf("a retried attempt shows a next attempt at %v", a[0].NextAttemptAt)
		}
		next := a[1].NextAttemptAt
		if next == nil || next.Before(a[1].AttemptedAt.Add(400*time.Millisecond)) || next.After(a[1].AttemptedAt.Add(2*time.Second)) {
			t.Fatalf("the last failed attempt (at %v) is retried at %v; want within its backoff of 0.5-1 s", a[1].AttemptedAt, next)
		}

		rcv.answer(http.StatusOK)
		waitFor(t, "the acknowledged attempt", 10*time.Second, func() bool { a := attempts(); return a[len(a)-1].Error == "" })
		for _, a := range attempts() {
			if a.NextAttemptAt != nil {
				t.Errorf("attempt %d shows a next attempt once the event was acknowledged", a.Number)
			}
		}

		rcv.answer(http.StatusServiceUnavailable)
		e = l.appendEvents(t, "leadflo", 1, 1)[0]
		waitFor(t, "a failed attempt with a retry pending", 10*time.Second, func() bool {
			a := attempts()
			return len(a) > 0 && a[len(a)-1].NextAttemptAt != nil
		})
		if _, err := l.registry.Pause(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if a := attempts(); a[len(a)-1].NextAttemptAt != nil {
			t.Errorf("a paused sink's attempt shows a next attempt")
		}
	})
}

// Replayed deliveries carry webhook-replay: true; live ones do not.
func TestReplayDeliveriesAreMarked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openLedger(t, url, fastConfig())
		rcv := newRecorder(t, http.StatusOK)
		history := l.appendEvents(t, "leadflo", 3, 3)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		live := l.appendEvents(t, "leadflo", 2, 2)
		waitFor(t, "the live deliveries", 10*time.Second, func() bool { return l.sink(t, s.ID).Position == live[1].Position })
		rp := l.replay(t, s, sinks.NewReplay{FromPosition: ptr(int64(0)), ToPosition: ptr(history[2].Position)})
		waitFor(t, "the replay", 10*time.Second, func() bool { return l.replayNow(t, rp).Status == sinks.ReplayCompleted })
		replayed := map[string]bool{}
		for _, e := range history {
			replayed[e.ID.String()] = true
		}
		got := rcv.requests()
		if len(got) != 5 {
			t.Fatalf("%d requests, want 2 live and 3 replayed", len(got))
		}
		for _, r := range got {
			id := bodyID(t, r)
			if want := map[bool]string{true: "true", false: ""}[replayed[id]]; r.header.Get(sinks.HeaderReplay) != want {
				t.Errorf("event %s (replayed %v): %s = %q, want %q", id, replayed[id], sinks.HeaderReplay, r.header.Get(sinks.HeaderReplay), want)
			}
			if !verifies(t, secret, r) {
				t.Errorf("delivery of %s not signed", id)
			}
		}
	})
}

// A redelivery of an event given up resolves its dead letter once the receiver takes it; a
// failed one leaves it, and shows no retry pending.
func TestRedeliverResolvesDeadLetter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		cfg := fastConfig()
		cfg.Backoff.MaxAttempts = 2
		l := openLedger(t, url, cfg)
		rcv := newRecorder(t, http.StatusBadGateway)
		s := l.addSink(t, rcv.srv.URL, "now", sinks.Filter{})
		e := l.appendEvents(t, "leadflo", 1, 1)[0]
		letters := func() int {
			f, _, err := l.registry.Failures(ctx, s.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(f)
		}
		waitFor(t, "the event given up", 10*time.Second, func() bool { return letters() == 1 })
		a, err := l.registry.Redeliver(ctx, e.ID, s.ID)
		if err != nil || a.StatusCode != 502 || a.Error == "" || a.NextAttemptAt != nil || a.Number != 3 || letters() != 1 {
			t.Errorf("failed redelivery = %+v, %v, %d dead letters; want the 502 on record, attempt 3, the dead letter kept", a, err, letters())
		}
		rcv.answer(http.StatusOK)
		if a, err := l.registry.Redeliver(ctx, e.ID, s.ID); err != nil || a.Error != "" || a.Number != 4 {
			t.Fatalf("redelivery = %+v, %v", a, err)
		}
		if n := letters(); n != 0 {
			t.Errorf("%d dead letters after the event was redelivered, want 0", n)
		}
	})
}

// A secret rotated out while no master key was configured is sealed with the rest at the first
// start with one, and still signs.
func TestKeyringSealsARotatedOutSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, sinks.Config{PollInterval: time.Hour})
		s := l.addSink(t, "http://127.0.0.1:9/hook", "now", sinks.Filter{})
		if _, err := l.registry.RotateSecret(ctx, s.ID, sinks.NewSecret{Secret: newSecret}); err != nil {
			t.Fatal(err)
		}
		if n, err := l.registry.UseKeyring(ctx, newKeyring(t)); err != nil || n != 1 {
			t.Fatalf("UseKeyring sealed %d sinks (%v), want 1", n, err)
		}
		var stored, old string
		if err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT secret, old_secret FROM sinks WHERE id = ?`), s.ID.String()).Scan(&stored, &old); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored+old, "whsec_") || old == "" {
			t.Errorf("stored after sealing: %q %q", stored, old)
		}
		if read := l.sink(t, s.ID); read.Secret != newSecret || read.OldSecret != secret {
			t.Errorf("read back: secret %v, old secret %v", read.Secret == newSecret, read.OldSecret == secret)
		}
	})
}
