package sinks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
)

// Secret rotation: the new secret signs every delivery at once, and the old one signs it too
// until the overlap ends, so a receiver may switch to the new secret whenever it likes within
// the overlap (Standard Webhooks allows several space-separated signatures).

// DefaultOverlap and MaxOverlap bound how long a rotated-out secret keeps signing.
const (
	DefaultOverlap = 24 * time.Hour
	MaxOverlap     = 7 * 24 * time.Hour
)

// NewSecret is a secret rotation: Secret empty generates one; ExpireOldAfter is a duration
// ("24h", "90m"; "0s" drops the old secret at once), DefaultOverlap when empty.
type NewSecret struct {
	Secret         string `json:"secret"`
	ExpireOldAfter string `json:"expire_old_after"`
}

// overlap is the rotation's overlap, checked.
func (n NewSecret) overlap() (time.Duration, error) {
	if n.ExpireOldAfter == "" {
		return DefaultOverlap, nil
	}
	d, err := time.ParseDuration(n.ExpireOldAfter)
	if err != nil || d < 0 || d > MaxOverlap {
		return 0, invalid(`Invalid expire_old_after: must be a duration from "0s" to "168h", e.g. "24h"`)
	}
	return d, nil
}

// Rotated is what a rotation did: Generated is the new secret when the ledger made it (shown
// once, in the reply), "" when the operator gave it.
type Rotated struct {
	Sink      Sink
	Generated string
	ExpiresAt time.Time // the old secret signs no more from then
}

// GenerateSecret makes a Standard Webhooks secret: whsec_ and 32 random bytes in base64.
func GenerateSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate a secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

// RotateSecret gives a webhook sink a new signing secret; its current secret keeps signing
// beside it for the overlap. A rotation during an overlap drops the oldest secret: only the
// two latest sign.
func (r *Registry) RotateSecret(ctx context.Context, id uuid.UUID, n NewSecret) (Rotated, error) {
	overlap, err := n.overlap()
	if err != nil {
		return Rotated{}, err
	}
	s, err := r.Sink(ctx, id)
	if err != nil {
		return Rotated{}, err
	}
	if s.Type != TypeWebhook {
		return Rotated{}, invalid("Invalid sink: secret rotation is for webhook sinks; a %s sink's credentials are in its config", s.Type)
	}
	out := Rotated{ExpiresAt: r.now().UTC().Add(overlap)}
	if n.Secret == "" {
		if n.Secret, err = GenerateSecret(); err != nil {
			return Rotated{}, err
		}
		out.Generated = n.Secret
	} else if _, err := standardwebhooks.DecodeSecret(n.Secret); err != nil {
		return Rotated{}, invalid("Invalid secret: must be whsec_ followed by base64")
	}
	s.OldSecret, s.Secret, s.OldSecretExpiresAt = s.Secret, n.Secret, &out.ExpiresAt
	if overlap == 0 {
		s.OldSecret, s.OldSecretExpiresAt = "", nil
	}
	secret, err := r.sealValue(s.Secret, secretContext(s))
	if err != nil {
		return Rotated{}, err
	}
	old, err := r.sealValue(s.OldSecret, oldSecretContext(s))
	if err != nil {
		return Rotated{}, err
	}
	res, err := r.exec(ctx, `UPDATE sinks SET secret = ?, old_secret = ?, old_secret_expires_at = ? WHERE id = ? AND deleted_at IS NULL`,
		secret, old, retryAtValue(s.OldSecretExpiresAt), id.String())
	if err := affectedOne(res, err, "sink", id); err != nil {
		return Rotated{}, err
	}
	r.edits.add(id)
	r.signal() // the running delivery restarts with the new secrets (see Manager.reconcile)
	out.Sink = s
	return out, nil
}

// sealValue is how one credential is stored: sealed under its context when there is a keyring.
func (r *Registry) sealValue(text, context string) (string, error) {
	k := r.keyring.Load()
	if k == nil || text == "" {
		return text, nil
	}
	sealed, err := k.Seal(text, context)
	if err != nil {
		return "", fmt.Errorf("seal a sink credential: %w", err)
	}
	return sealed, nil
}

// signingKeys are the keys that sign a delivery now: the secret, and the rotated-out one while
// its overlap lasts.
func (s Sink) signingKeys(now time.Time) ([][]byte, error) {
	key, err := standardwebhooks.DecodeSecret(s.Secret)
	if err != nil {
		return nil, errors.New("the sink's secret is not a whsec_ secret")
	}
	keys := [][]byte{key}
	if s.OldSecret != "" && s.OldSecretExpiresAt != nil && now.Before(*s.OldSecretExpiresAt) {
		if old, err := standardwebhooks.DecodeSecret(s.OldSecret); err == nil {
			keys = append(keys, old)
		}
	}
	return keys, nil
}

// signature is the webhook-signature value: "v1,<new>", and " v1,<old>" during an overlap.
func (s Sink) signature(id string, now time.Time, body []byte) (string, error) {
	keys, err := s.signingKeys(now)
	if err != nil {
		return "", err
	}
	sig := standardwebhooks.Sign(keys[0], id, now, body)
	for _, k := range keys[1:] {
		sig += " " + standardwebhooks.Sign(k, id, now, body)
	}
	return sig, nil
}

// forgetExpiredOldSecrets blanks the rotated-out secrets whose overlap is over: they sign
// nothing any more, and a credential not kept cannot leak. Only a sink with one is written to,
// and only if no rotation replaced it since it was read.
func (r *Registry) forgetExpiredOldSecrets(ctx context.Context, sinks []Sink) error {
	now := r.now()
	for _, s := range sinks {
		if s.OldSecret == "" || s.OldSecretExpiresAt == nil || now.Before(*s.OldSecretExpiresAt) {
			continue
		}
		if _, err := r.exec(ctx, `UPDATE sinks SET old_secret = '', old_secret_expires_at = NULL WHERE id = ? AND old_secret_expires_at = ?`,
			s.ID.String(), formatTime(*s.OldSecretExpiresAt)); err != nil {
			return fmt.Errorf("forget the expired old secret of sink %s: %w", s.ID, err)
		}
	}
	return nil
}
