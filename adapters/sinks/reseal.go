package sinks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sealed"
)

// Master key rotation: every credential a sink row holds (deleted sinks' included) is sealed
// again under the keyring's current key, one value per statement. Each statement commits
// alone, so serving is never held up for long, and a crash leaves every value whole: sealed
// under the older key, which the keyring still opens, or under the new one.

// Credential names one stored sink credential, never its content.
type Credential struct {
	Sink   uuid.UUID
	Column string // secret, old_secret or config
	// KeyID is the key it is sealed under; "" when it is stored in plain text.
	KeyID string
}

// ResealFailure is a credential that could not be re-sealed, left as it was, and why.
type ResealFailure struct {
	Credential
	Err error
}

// Resealed is what ResealCredentials did.
type Resealed struct {
	Resealed []Credential    // re-sealed (or, stored in plain text, sealed) under the current key; KeyID is the key before
	Current  int             // credentials already under the current key
	Failed   []ResealFailure // left as they were: no key held opens them, or they kept changing
}

// credentialColumns are the sink columns sealed under the master key, with their contexts.
var credentialColumns = []struct {
	name    string
	context func(Sink) string
}{{"secret", secretContext}, {"old_secret", oldSecretContext}, {"config", configContext}}

// storedCredential is one non-empty credential as stored.
type storedCredential struct {
	sink   Sink
	column int // index in credentialColumns
	text   string
}

func (c storedCredential) name() Credential {
	return Credential{Sink: c.sink.ID, Column: credentialColumns[c.column].name, KeyID: sealed.SealedWith(c.text)}
}

// storedCredentials reads every non-empty credential of every sink row, deleted ones included.
func (r *Registry) storedCredentials(ctx context.Context) ([]storedCredential, error) {
	rows, err := r.store.ReadDB().QueryContext(ctx, `SELECT id, secret, old_secret, config FROM sinks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read stored credentials: %w", err)
	}
	defer rows.Close()
	var out []storedCredential
	for rows.Next() {
		var id string
		var texts [3]string
		if err := rows.Scan(&id, &texts[0], &texts[1], &texts[2]); err != nil {
			return nil, fmt.Errorf("read stored credentials: %w", err)
		}
		sinkID, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("read stored credentials: sink id %q: %w", id, err)
		}
		for i, text := range texts {
			if text != "" {
				out = append(out, storedCredential{sink: Sink{ID: sinkID}, column: i, text: text})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stored credentials: %w", err)
	}
	return out, nil
}

// StaleCredentials lists the sink credentials not sealed under k's current key: sealed under
// another key (which k may or may not hold), or stored in plain text.
func (r *Registry) StaleCredentials(ctx context.Context, k *sealed.Keyring) ([]Credential, error) {
	stored, err := r.storedCredentials(ctx)
	if err != nil {
		return nil, err
	}
	var stale []Credential
	for _, c := range stored {
		if k.NeedsReseal(c.text) {
			stale = append(stale, c.name())
		}
	}
	return stale, nil
}

// maxResealTries bounds how often one credential is read again because a server changed it
// between the read and the write (a secret rotation, a deletion).
const maxResealTries = 5

// ResealCredentials seals every sink credential under k's current key: those under an older
// key k holds are opened and sealed again, those in plain text are sealed. Each write applies
// only if the value is still the one read (a server may rotate or delete meanwhile); otherwise
// the value is read again. It is idempotent: a second run re-seals nothing. A credential k
// cannot open is left as it is and reported in Failed; an error is a database failure.
func (r *Registry) ResealCredentials(ctx context.Context, k *sealed.Keyring) (Resealed, error) {
	stored, err := r.storedCredentials(ctx)
	if err != nil {
		return Resealed{}, err
	}
	var out Resealed
	for _, c := range stored {
		if !k.NeedsReseal(c.text) {
			out.Current++
			continue
		}
		resealed, failure, err := r.resealOne(ctx, k, c)
		switch {
		case err != nil:
			return out, err
		case failure != nil:
			out.Failed = append(out.Failed, ResealFailure{Credential: c.name(), Err: failure})
		case resealed:
			out.Resealed = append(out.Resealed, c.name())
		}
	}
	return out, nil
}

// resealOne writes one credential sealed under the current key, if it is still as read.
// resealed is false when a server replaced or cleared it meanwhile, under the current key;
// failure says why it was left as it was; err is a database failure.
func (r *Registry) resealOne(ctx context.Context, k *sealed.Keyring, c storedCredential) (resealed bool, failure, err error) {
	column := credentialColumns[c.column]
	bound := column.context(c.sink)
	for range maxResealTries {
		var next string
		if sealed.IsSealed(c.text) {
			next, _, err = k.Reseal(c.text, bound)
		} else {
			next, err = k.Seal(c.text, bound)
		}
		if err != nil {
			return false, fmt.Errorf("the %s of sink %s: %w", column.name, c.sink.ID, err), nil
		}
		// column.name is one of three constants, never input.
		res, err := r.exec(ctx, `UPDATE sinks SET `+column.name+` = ? WHERE id = ? AND `+column.name+` = ?`, next, c.sink.ID.String(), c.text)
		if err != nil {
			return false, nil, fmt.Errorf("re-seal the %s of sink %s: %w", column.name, c.sink.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return false, nil, fmt.Errorf("re-seal the %s of sink %s: %w", column.name, c.sink.ID, err)
		} else if n == 1 {
			return true, nil, nil
		}
		// Changed since it was read: read it again.
		err = r.store.ReadDB().QueryRowContext(ctx, r.q(`SELECT `+column.name+` FROM sinks WHERE id = ?`), c.sink.ID.String()).Scan(&c.text)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil, nil
		}
		if err != nil {
			return false, nil, fmt.Errorf("read the %s of sink %s again: %w", column.name, c.sink.ID, err)
		}
		if c.text == "" || !k.NeedsReseal(c.text) {
			return false, nil, nil
		}
	}
	return false, fmt.Errorf("the %s of sink %s changed %d times while being re-sealed; run again", column.name, c.sink.ID, maxResealTries), nil
}
