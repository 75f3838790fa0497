package sinks_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sealed"
	"github.com/leadledger/leadledger/adapters/sinks"
)

func newKeyring(t *testing.T) *sealed.Keyring {
	t.Helper()
	key := make([]byte, sealed.KeySize)
	_, _ = rand.Read(key)
	k, err := sealed.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Credentials stored in plain text (by a version without a master key) are sealed on the first
// start with one, read back whole, and do not open under another key.
func TestCredentialsAreSealedAtRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, sinks.Config{PollInterval: time.Hour})
		hook := l.addSink(t, "http://127.0.0.1:9/hook", "now", sinks.Filter{})
		crm, err := l.registry.Create(ctx, sinks.NewSink{Name: "hs", Type: sinks.TypeHubSpot,
			Config: rawConfig(t, map[string]string{"token": hubspotToken})})
		if err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			var secrets strings.Builder
			rows, err := l.store.ReadDB().QueryContext(ctx, `SELECT secret || config FROM sinks ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				secrets.WriteString(s + "\n")
			}
			return secrets.String()
		}
		if !strings.Contains(stored(), hubspotToken) {
			t.Fatalf("without a keyring the credentials should be plain (an older version's store)")
		}

		k := newKeyring(t)
		if n, err := l.registry.UseKeyring(ctx, k); err != nil || n != 2 {
			t.Fatalf("UseKeyring sealed %d sinks (%v), want 2", n, err)
		}
		if s := stored(); strings.Contains(s, hubspotToken) || strings.Contains(s, secret) || strings.Count(s, "sealed:") != 2 {
			t.Errorf("stored credentials after sealing:\n%s", s)
		}
		if n, err := l.registry.UseKeyring(ctx, k); err != nil || n != 0 {
			t.Errorf("a second start sealed %d sinks again (%v)", n, err)
		}
		got, err := l.registry.Sink(ctx, crm.ID)
		if err != nil || !bytes.Contains(got.Config, []byte(hubspotToken)) || l.sink(t, hook.ID).Secret != secret {
			t.Errorf("read back: %s, %v", got.Config, err)
		}

		if _, err := l.registry.UseKeyring(ctx, newKeyring(t)); err == nil || !errors.Is(err, sealed.ErrUnknownKey) {
			t.Errorf("a start with another master key: %v, want an error naming the unknown key", err)
		}
		if _, err := l.registry.Sink(ctx, crm.ID); err == nil {
			t.Errorf("credentials sealed under one key opened under another")
		}
	})
}

// The API shows a sink's config without its credentials: token keys, and the user info and
// query values of any URL in it.
func TestPublicConfigHidesCredentials(t *testing.T) {
	s := sinks.Sink{Config: []byte(`{"url":"nats://alice:s3cretpw@nats.example.com:4222","subject":"leads",
		"auth":{"client_secret":"cs-123","token_url":"https://login.example.com/token?key=k-456"},"token":"t-789"}`)}
	shown := fmt.Sprint(s.PublicConfig())
	for _, secret := range []string{"s3cretpw", "alice", "cs-123", "k-456", "t-789"} {
		if strings.Contains(shown, secret) {
			t.Errorf("the config shown %s contains %q", shown, secret)
		}
	}
	if !strings.Contains(shown, "nats.example.com:4222") || !strings.Contains(shown, "subject:leads") {
		t.Errorf("the config shown %s lost what is not secret", shown)
	}
}
