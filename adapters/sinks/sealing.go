package sinks

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/leadledger/leadledger/adapters/sealed"
)

// Credentials at rest: a sink's secret and its config (CRM tokens, client secrets) are sealed
// with AES-GCM under the master key when the registry has one. Each value is bound to its
// sink and column, so a sealed value copied into another row does not open.

func secretContext(s Sink) string { return "sink:" + s.ID.String() + ":secret" }
func configContext(s Sink) string { return "sink:" + s.ID.String() + ":config" }

// oldSecretContext binds a rotated-out secret to its own column: a sealed current secret copied
// there does not open, nor the other way round.
func oldSecretContext(s Sink) string { return "sink:" + s.ID.String() + ":old_secret" }

// UseKeyring makes the registry seal credentials under the keyring from now on, and seals the
// credentials stored in plain text by a version (or a start) without one. A credential sealed
// under a key the keyring does not hold is an error now, rather than at its sink's next
// delivery.
func (r *Registry) UseKeyring(ctx context.Context, k *sealed.Keyring) (sealedNow int, err error) {
	r.keyring.Store(k)
	rows, err := r.store.ReadDB().QueryContext(ctx, `SELECT id, secret, old_secret, config FROM sinks WHERE deleted_at IS NULL`)
	if err != nil {
		return 0, fmt.Errorf("read stored credentials: %w", err)
	}
	var stored []Sink
	for rows.Next() {
		var s Sink
		var id, config string
		if err := rows.Scan(&id, &s.Secret, &s.OldSecret, &config); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read stored credentials: %w", err)
		}
		s.ID, s.Config = uuid.MustParse(id), []byte(config)
		stored = append(stored, s)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	var plain []Sink
	for _, s := range stored { // every credential must open before any is sealed anew
		if (s.Secret != "" && !sealed.IsSealed(s.Secret)) || (len(s.Config) > 0 && !sealed.IsSealed(string(s.Config))) ||
			(s.OldSecret != "" && !sealed.IsSealed(s.OldSecret)) {
			plain = append(plain, s)
		}
		if err := r.open(&s); errors.Is(err, sealed.ErrUnknownKey) {
			return 0, fmt.Errorf("master key: %w: configure the key it was sealed with (master_key_env), or during a rotation give the older key in master_key_previous_env", err)
		} else if err != nil {
			return 0, err
		}
	}
	for _, s := range plain {
		if err := r.open(&s); err != nil { // one of the two may be sealed already
			return 0, err
		}
		secret, config, err := r.seal(s)
		if err != nil {
			return 0, err
		}
		old, err := r.sealValue(s.OldSecret, oldSecretContext(s))
		if err != nil {
			return 0, err
		}
		if _, err := r.exec(ctx, `UPDATE sinks SET secret = ?, old_secret = ?, config = ? WHERE id = ?`, secret, old, config, s.ID.String()); err != nil {
			return 0, fmt.Errorf("seal the credentials of sink %s: %w", s.ID, err)
		}
		sealedNow++
	}
	return sealedNow, nil
}

// seal is how a sink's secret and config are stored: sealed when there is a keyring.
func (r *Registry) seal(s Sink) (secret, config string, err error) {
	secret, config = s.Secret, string(s.Config)
	k := r.keyring.Load()
	if k == nil {
		return secret, config, nil
	}
	if secret != "" {
		if secret, err = k.Seal(secret, secretContext(s)); err != nil {
			return "", "", fmt.Errorf("seal the secret of sink %s: %w", s.ID, err)
		}
	}
	if config != "" {
		if config, err = k.Seal(config, configContext(s)); err != nil {
			return "", "", fmt.Errorf("seal the config of sink %s: %w", s.ID, err)
		}
	}
	return secret, config, nil
}

// open turns a stored sink's sealed credentials back into plain text.
func (r *Registry) open(s *Sink) error {
	secret, err := r.openValue(s.Secret, secretContext(*s))
	if err != nil {
		return fmt.Errorf("the secret of sink %s: %w", s.ID, err)
	}
	config, err := r.openValue(string(s.Config), configContext(*s))
	if err != nil {
		return fmt.Errorf("the config of sink %s: %w", s.ID, err)
	}
	old, err := r.openValue(s.OldSecret, oldSecretContext(*s))
	if err != nil {
		return fmt.Errorf("the old secret of sink %s: %w", s.ID, err)
	}
	s.Secret, s.OldSecret = secret, old
	if config != "" {
		s.Config = []byte(config)
	}
	return nil
}

func (r *Registry) openValue(text, context string) (string, error) {
	if !sealed.IsSealed(text) {
		return text, nil
	}
	k := r.keyring.Load()
	if k == nil {
		return "", errors.New("it is sealed, and no master key is configured")
	}
	return k.Open(text, context)
}
