package sinks_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sealed"
	"github.com/leadledger/leadledger/adapters/sinks"
)

func randomKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, sealed.KeySize)
	_, _ = rand.Read(key)
	return key
}

func keyringOf(t *testing.T, current []byte, older ...[]byte) *sealed.Keyring {
	t.Helper()
	k, err := sealed.NewKeyring(current, older...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A master key rotation: credentials sealed under key A (a webhook secret, its rotated-out
// predecessor, a CRM token) are re-sealed under B by a keyring holding B and A, in part first
// (an interrupted run), then the rest; a second run re-seals nothing; B alone then opens every
// one of them, and A alone none; a keyring without A or B leaves them untouched.
func TestResealCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, sinks.Config{PollInterval: time.Hour})
		a, b := randomKey(t), randomKey(t)
		if _, err := l.registry.UseKeyring(ctx, keyringOf(t, a)); err != nil {
			t.Fatal(err)
		}
		hook := l.addSink(t, "http://127.0.0.1:9/hook", "now", sinks.Filter{})
		rotated, err := l.registry.RotateSecret(ctx, hook.ID, sinks.NewSecret{ExpireOldAfter: "24h"})
		if err != nil {
			t.Fatal(err)
		}
		crm, err := l.registry.Create(ctx, sinks.NewSink{Name: "hs", Type: sinks.TypeHubSpot,
			Config: rawConfig(t, map[string]string{"token": hubspotToken})})
		if err != nil {
			t.Fatal(err)
		}

		during := keyringOf(t, b, a) // the servers restarted with B current and A previous
		if _, err := l.registry.UseKeyring(ctx, during); err != nil {
			t.Fatalf("a keyring holding B and A refused credentials sealed under A: %v", err)
		}
		stale, err := l.registry.StaleCredentials(ctx, during)
		if err != nil || len(stale) != 3 {
			t.Fatalf("StaleCredentials = %v, %v; want the secret, old_secret and config", stale, err)
		}
		for _, c := range stale {
			if c.KeyID != keyringOf(t, a).KeyID() {
				t.Errorf("%v: want it under key A", c)
			}
		}

		// An interrupted run: the webhook's secret alone was re-sealed before it stopped.
		var text string
		if err := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT secret FROM sinks WHERE id = ?`), hook.ID.String()).Scan(&text); err != nil {
			t.Fatal(err)
		}
		next, changed, err := during.Reseal(text, "sink:"+hook.ID.String()+":secret")
		if err != nil || !changed {
			t.Fatalf("Reseal: %v, %v", changed, err)
		}
		if _, err := l.store.DB().Exec(l.store.Rebind(`UPDATE sinks SET secret = ? WHERE id = ?`), next, hook.ID.String()); err != nil {
			t.Fatal(err)
		}
		if got := l.sink(t, hook.ID); got.Secret != rotated.Generated || got.OldSecret != secret {
			t.Fatalf("half-way, the secrets read %q, %q", got.Secret, got.OldSecret)
		}

		r, err := l.registry.ResealCredentials(ctx, during)
		if err != nil || len(r.Resealed) != 2 || r.Current != 1 || len(r.Failed) != 0 {
			t.Fatalf("ResealCredentials = %+v, %v; want 2 re-sealed, 1 already current", r, err)
		}
		if r, err := l.registry.ResealCredentials(ctx, during); err != nil || len(r.Resealed) != 0 || r.Current != 3 {
			t.Errorf("a second run = %+v, %v; want nothing re-sealed, 3 current", r, err)
		}
		if stale, err := l.registry.StaleCredentials(ctx, during); err != nil || len(stale) != 0 {
			t.Errorf("after the rotation StaleCredentials = %v, %v", stale, err)
		}

		// A keyring that holds neither key leaves every value as it is.
		lost := keyringOf(t, randomKey(t), randomKey(t))
		if r, err := l.registry.ResealCredentials(ctx, lost); err != nil || len(r.Failed) != 3 || len(r.Resealed) != 0 {
			t.Errorf("with unknown keys: %+v, %v; want 3 failures", r, err)
		} else if !errors.Is(r.Failed[0].Err, sealed.ErrUnknownKey) {
			t.Errorf("failure %v, want ErrUnknownKey", r.Failed[0].Err)
		}

		if _, err := l.registry.UseKeyring(ctx, keyringOf(t, b)); err != nil {
			t.Fatalf("B alone after the rotation: %v", err)
		}
		if got := l.sink(t, hook.ID); got.Secret != rotated.Generated || got.OldSecret != secret {
			t.Errorf("under B alone the secrets read %q, %q", got.Secret, got.OldSecret)
		}
		if got := l.sink(t, crm.ID); !bytes.Contains(got.Config, []byte(hubspotToken)) {
			t.Errorf("under B alone the CRM config reads %s", got.Config)
		}
		_, err = l.registry.UseKeyring(ctx, keyringOf(t, a))
		if !errors.Is(err, sealed.ErrUnknownKey) || !strings.Contains(err.Error(), "master_key_previous_env") {
			t.Errorf("A alone after the rotation: %v; want the unknown key named, and the remedy", err)
		}
	})
}

// Re-sealing while a server rotates a sink's secret again and again loses nothing: each write
// applies only to the value it read.
func TestResealDuringSecretRotations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		l := openLedger(t, url, sinks.Config{PollInterval: time.Hour})
		a, b := randomKey(t), randomKey(t)
		if _, err := l.registry.UseKeyring(ctx, keyringOf(t, a)); err != nil {
			t.Fatal(err)
		}
		var hooks []sinks.Sink
		for range 10 {
			hooks = append(hooks, l.addSink(t, "http://127.0.0.1:9/hook", "now", sinks.Filter{}))
		}
		during := keyringOf(t, b, a)
		if _, err := l.registry.UseKeyring(ctx, during); err != nil {
			t.Fatal(err)
		}
		last := make([]string, len(hooks))
		var wg sync.WaitGroup
		wg.Go(func() {
			for round := range 3 {
				for i, h := range hooks {
					r, err := l.registry.RotateSecret(ctx, h.ID, sinks.NewSecret{ExpireOldAfter: "1h"})
					if err != nil {
						t.Errorf("rotation %d of sink %d: %v", round, i, err)
						return
					}
					last[i] = r.Generated
				}
			}
		})
		for range 3 {
			if _, err := l.registry.ResealCredentials(ctx, during); err != nil {
				t.Error(err)
			}
		}
		wg.Wait()
		if _, err := l.registry.ResealCredentials(ctx, during); err != nil {
			t.Fatal(err)
		}
		if _, err := l.registry.UseKeyring(ctx, keyringOf(t, b)); err != nil {
			t.Fatalf("B alone: %v", err)
		}
		for i, h := range hooks {
			if got := l.sink(t, h.ID); got.Secret != last[i] {
				t.Errorf("sink %d: the secret reads %q, want the last rotated one", i, got.Secret)
			}
		}
	})
}
