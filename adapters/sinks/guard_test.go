package sinks_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/netguard"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	fakehubspot "github.com/leadledger/leadledger/scripts/fakecrm/hubspot"
)

// refusal is how a refused address ends every message.
const refusal = "; " + netguard.Hint

// A sink whose URL reaches a private address is refused when it is created or changed, naming
// the field and the address, in whichever of its URLs and however the address is spelled;
// with AllowPrivateURLs it is created.
func TestPrivateURLsRefusedWhenStored(t *testing.T) {
	cfg := func(v map[string]any) json.RawMessage { b, _ := json.Marshal(v); return b }
	webhook := func(u string) sinks.NewSink {
		return sinks.NewSink{Type: sinks.TypeWebhook, URL: u, Secret: secret}
	}
	salesforce := func(instance, token string) sinks.NewSink {
		return sinks.NewSink{Type: sinks.TypeSalesforce, Config: cfg(map[string]any{"instance_url": instance, "api_version": "v61.0",
			"auth": map[string]any{"type": "client_credentials", "token_url": token, "client_id": "id", "client_secret": "s"}})}
	}
	refused := []struct {
		sink sinks.NewSink
		want string
	}{
		{webhook("http://169.254.169.254/latest/meta-data/"), "Invalid url: 169.254.169.254 is a link-local address"},
		{webhook("http://2130706433/hook"), "Invalid url: 2130706433 is 127.0.0.1, a loopback address"},
		{webhook("http://0177.0.0.1:8080/hook"), "Invalid url: 0177.0.0.1 is 127.0.0.1, a loopback address"},
		{webhook("http://0x7f.1/hook"), "Invalid url: 0x7f.1 is 127.0.0.1, a loopback address"},
		{webhook("http://127.1/hook"), "Invalid url: 127.1 is 127.0.0.1, a loopback address"},
		{webhook("http://[::ffff:127.0.0.1]:9/hook"), "Invalid url: ::ffff:127.0.0.1 is a loopback address (IPv4-mapped 127.0.0.1)"},
		{webhook("https://[fd00:ec2::254]/"), "Invalid url: fd00:ec2::254 is a cloud metadata address"},
		{webhook("http://[::1]/hook"), "Invalid url: ::1 is a loopback address"},
		{webhook("http://10.1.2.3/hook"), "Invalid url: 10.1.2.3 is a private address"},
		{webhook("http://100.64.0.1/hook"), "Invalid url: 100.64.0.1 is a shared (CGNAT) address"},
		{webhook("http://224.0.0.1/hook"), "Invalid url: 224.0.0.1 is a multicast address"},
		{webhook("http://0.0.0.0:8080/hook"), "Invalid url: 0.0.0.0 is an unspecified (this network) address"},
		{webhook("http://localhost:8080/hook"), "Invalid url: localhost resolves to "},
		{sinks.NewSink{Type: sinks.TypeHubSpot, Config: cfg(map[string]any{"base_url": "http://192.168.1.10", "token": "t"})},
			"Invalid config.base_url: 192.168.1.10 is a private address"},
		{sinks.NewSink{Type: sinks.TypePipedrive, Config: cfg(map[string]any{"base_url": "http://172.16.0.1/api", "token": "t"})},
			"Invalid config.base_url: 172.16.0.1 is a private address"},
		{salesforce("http://127.0.0.1:1", "https://203.0.113.9/services/oauth2/token"),
			"Invalid config.instance_url: 127.0.0.1 is a loopback address"},
		{salesforce("", "http://169.254.169.254/services/oauth2/token"),
			"Invalid config.auth.token_url: 169.254.169.254 is a link-local address"},
		{sinks.NewSink{Type: sinks.TypeNATS, Config: cfg(map[string]any{"url": "nats://127.0.0.1:4222", "subject": "leads"})},
			"Invalid config.url: 127.0.0.1 is a loopback address"},
		{sinks.NewSink{Type: sinks.TypeNATS, Config: cfg(map[string]any{"url": "nats://203.0.113.9:4222, tls://u:p@10.0.0.2:4222", "subject": "leads"})},
			"Invalid config.url: 10.0.0.2 is a private address"},
	}
	forEachBackend(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		guarded := openLedgerWith(t, dbURL, fastConfig())
		open := openLedger(t, dbURL, fastConfig())
		for _, c := range refused {
			c.sink.Name, c.sink.Start = "private", "now"
			if _, err := guarded.registry.Create(ctx, c.sink); err == nil || !strings.HasPrefix(strings.TrimPrefix(err.Error(), "invalid: "), c.want) ||
				!strings.HasSuffix(err.Error(), refusal) {
				t.Errorf("create %s sink %s: %v, want %q", c.sink.Type, c.sink.URL+string(c.sink.Config), err, c.want+"…"+refusal)
			}
			if _, err := open.registry.Create(ctx, c.sink); err != nil {
				t.Errorf("create %s sink %s with private URLs allowed: %v", c.sink.Type, c.sink.URL+string(c.sink.Config), err)
			}
		}

		// Public addresses pass, as does a name that does not resolve (its connections are checked).
		public := webhook("https://203.0.113.9/hook")
		public.Name = "public"
		s, err := guarded.registry.Create(ctx, public)
		if err != nil {
			t.Fatalf("create a sink to a public address: %v", err)
		}
		unresolved := webhook("https://hooks.invalid/hook")
		unresolved.Name = "unresolved"
		if _, err := guarded.registry.Create(ctx, unresolved); err != nil {
			t.Errorf("create a sink to a name that does not resolve: %v", err)
		}
		for _, u := range []string{"http://169.254.169.254/", "http://0x7f000001/", "http://[fe80::1%25eth0]/"} {
			if _, err := guarded.registry.Update(ctx, s.ID, sinks.SinkPatch{URL: &u}); err == nil || !strings.Contains(err.Error(), "Invalid url: ") ||
				!strings.HasSuffix(err.Error(), refusal) {
				t.Errorf("patch the url to %s: %v, want refused", u, err)
			}
		}
		if got := guarded.sink(t, s.ID); got.URL != public.URL {
			t.Errorf("after refused patches the url is %s, want %s", got.URL, public.URL)
		}
		u := "http://127.0.0.1:9/hook"
		if _, err := open.registry.Update(ctx, s.ID, sinks.SinkPatch{URL: &u}); err != nil {
			t.Errorf("patch the url to loopback with private URLs allowed: %v", err)
		}
	})
}

// A name that resolves to loopback when the ledger connects (DNS rebinding: it was stored
// through a registry that allowed it, as if it had resolved to a public address then) is
// refused by the dialer: a failed attempt that says why, and nothing reaches the receiver.
func TestPrivateAddressRefusedWhenConnecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbURL string) {
		l := openLedgerWith(t, dbURL, fastConfig())
		rcv := newReceiver(t, nil)
		l.appendEvents(t, "leadflo", 1, 1)
		s := createAllowed(t, l, sinks.NewSink{Name: "rebound", Type: sinks.TypeWebhook, URL: viaLocalhost(t, rcv.srv.URL) + "/hook",
			Secret: secret, Start: "beginning"})
		attempt := failedAttempt(t, l, s.ID)
		if !strings.Contains(attempt.Error, "address guard: ") || !strings.Contains(attempt.Error, " is a loopback address"+refusal) {
			t.Errorf("attempt error %q, want the guard's refusal", attempt.Error)
		}
		if attempt.StatusCode != 0 {
			t.Errorf("attempt: status %d, want no answer", attempt.StatusCode)
		}
		if res, err := l.registry.Ping(context.Background(), s.ID); err != nil || !strings.Contains(res.Error, " is a loopback address"+refusal) {
			t.Errorf("ping: %+v, %v; want the guard's refusal", res, err)
		}
		if got := rcv.deliveries(); len(got) != 0 {
			t.Errorf("the receiver got %d requests", len(got))
		}
	})
}

// Neither a delivery nor a ping follows a redirect, so one cannot lead the ledger to an address
// it may not reach: the 3xx is a failed attempt, and the redirect's target gets nothing. (The
// CRM clients follow none either; were one to, its connection would go through the guard.)
func TestRedirectDoesNotLeadElsewhere(t *testing.T) {
	l := openLedger(t, eventstoretest.SQLiteURL(t), fastConfig())
	target := newReceiver(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL+"/latest/meta-data/", http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	l.appendEvents(t, "leadflo", 1, 1)
	s := l.addSink(t, redirect.URL+"/hook", "beginning", sinks.Filter{})
	if attempt := failedAttempt(t, l, s.ID); attempt.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(attempt.Error, "receiver answered 307") {
		t.Errorf("attempt: %d %q, want the 307 as a failure", attempt.StatusCode, attempt.Error)
	}
	if res, err := l.registry.Ping(context.Background(), s.ID); err != nil || res.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("ping: %+v, %v; want the 307", res, err)
	}
	if got := target.deliveries(); len(got) != 0 {
		t.Errorf("a redirect was followed: its target got %d requests", len(got))
	}
}

// A CRM's connections are checked too: a base_url that resolves to loopback when the sink
// writes is a failed call that says why, and the CRM gets no call.
func TestCRMBaseURLRefusedWhenConnecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbURL string) {
		l := openCRMLedgerWith(t, dbURL, fastConfig())
		fake, base := newFakeHubSpot(t, fakehubspot.Config{})
		n := hubspotSink(t, viaLocalhost(t, base))
		n.Name, n.Mode, n.Start = "hubspot", sinks.ModeEvents, "beginning"
		l.post(t, "whatconverts", "whatconverts", `{"trigger":"new","lead_id":1,"last_updated":"2026-01-01T10:00:00Z","contact_name":"Ann","contact_email_address":"ann@example.com"}`)
		l.caughtUp(t)
		s := createAllowed(t, l.ledger, n)
		attempt := failedAttempt(t, l.ledger, s.ID)
		if !strings.Contains(attempt.Error, " is a loopback address"+refusal) {
			t.Errorf("attempt error %q, want the guard's refusal", attempt.Error)
		}
		if calls := fake.Calls(); calls != 0 {
			t.Errorf("the CRM got %d calls", calls)
		}
	})
}

// A NATS sink's servers are dialled through the guard: a server on loopback, up and ready, is
// refused, and the attempt says why.
func TestNATSServerRefusedWhenConnecting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbURL string) {
		server := startNATSServer(t)
		l := openLedgerWith(t, dbURL, fastConfig())
		l.appendEvents(t, "leadflo", 1, 1)
		s := createAllowed(t, l, sinks.NewSink{Name: "stream", Type: sinks.TypeNATS, Start: "beginning",
			Config: rawConfig(t, map[string]string{"url": viaLocalhost(t, server), "subject": natsSubject})})
		attempt := failedAttempt(t, l, s.ID)
		if !strings.Contains(attempt.Error, " is a loopback address"+refusal) {
			t.Errorf("attempt error %q, want the guard's refusal", attempt.Error)
		}
	})
}

// createAllowed stores a sink through a second registry on l's store that allows private
// URLs: l's own (guarded) engine then delivers to it.
func createAllowed(t *testing.T, l *ledger, n sinks.NewSink) sinks.Sink {
	t.Helper()
	r, err := sinks.NewRegistry(context.Background(), l.store, sinks.AllowPrivateURLs(true))
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	s, err := r.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("create sink: %v", err)
	}
	return s
}

// viaLocalhost is a loopback server's URL with its host named localhost: the address appears
// only once the name is resolved.
func viaLocalhost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort("localhost", u.Port())
	return u.String()
}

// failedAttempt waits for the sink's first attempt and returns it; it must have failed.
func failedAttempt(t *testing.T, l *ledger, id uuid.UUID) sinks.Attempt {
	t.Helper()
	var got []sinks.Attempt
	waitFor(t, "a delivery attempt", 20*time.Second, func() bool {
		var err error
		got, err = l.registry.Attempts(context.Background(), id, 0, 10, nil)
		if err != nil {
			t.Fatalf("attempts: %v", err)
		}
		return len(got) > 0
	})
	if got[0].Error == "" {
		t.Fatalf("attempt %+v succeeded, want it refused", got[0])
	}
	t.Logf("attempt error: %s", got[0].Error)
	return got[0]
}
