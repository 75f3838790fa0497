package audit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// StoredSigningKey is the checkpoint signing key kept in the database, sealed by the caller's
// seal and open (the master key): every server on the database signs with the same key, and a
// backup of the database keeps it. The first call makes one; created says this call did.
func StoredSigningKey(ctx context.Context, t *Tree, seal, open func(string) (string, error)) (skey string, created bool, err error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", false, err
	}
	fresh, err := GenerateSigningKey("leadledger-" + hex.EncodeToString(suffix))
	if err != nil {
		return "", false, err
	}
	sealed, err := seal(fresh)
	if err != nil {
		return "", false, fmt.Errorf("seal the signing key: %w", err)
	}
	// Two servers starting at once: the first insert wins, both read it back.
	res, err := t.store.DB().ExecContext(ctx, t.store.Rebind(`INSERT INTO ledger_signing_key (id, sealed) VALUES (1, ?)
		ON CONFLICT (id) DO NOTHING`), sealed)
	if err != nil {
		return "", false, fmt.Errorf("store the signing key: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := t.store.ReadDB().QueryRowContext(ctx, `SELECT sealed FROM ledger_signing_key WHERE id = 1`).Scan(&sealed); err != nil {
		return "", false, fmt.Errorf("read the signing key: %w", err)
	}
	if skey, err = open(sealed); err != nil {
		return "", false, fmt.Errorf("open the signing key (is this the master key it was sealed with?): %w", err)
	}
	return skey, n == 1, nil
}

// SealedSigningKey is the signing key as stored, still sealed; "" when no server made one.
func SealedSigningKey(ctx context.Context, t *Tree) (string, error) {
	var sealed string
	err := t.store.ReadDB().QueryRowContext(ctx, `SELECT sealed FROM ledger_signing_key WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the signing key: %w", err)
	}
	return sealed, nil
}

// ReplaceSealedSigningKey stores next in place of the sealed signing key if the stored one is
// still was (a master key rotation seals it again), and reports whether it did.
func ReplaceSealedSigningKey(ctx context.Context, t *Tree, was, next string) (bool, error) {
	res, err := t.store.DB().ExecContext(ctx, t.store.Rebind(`UPDATE ledger_signing_key SET sealed = ? WHERE id = 1 AND sealed = ?`), next, was)
	if err != nil {
		return false, fmt.Errorf("re-seal the signing key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("re-seal the signing key: %w", err)
	}
	return n == 1, nil
}
