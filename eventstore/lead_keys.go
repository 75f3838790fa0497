package eventstore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Crypto-shredding. The personal data of an event, its raw body and its normalised data, is
// stored sealed (AES-256-GCM) under a key of its lead's own, kept in leadKeysTable. Erasing a
// lead deletes that key: the sealed bytes stay where they are, unreadable, and everything the
// hash chain covers (ids, positions, types, times, raw SHA-256s) stays too, so the chain and
// every checkpoint still verify. Only LeadErased events, which hold no personal data, are
// stored unsealed.

// leadKeysTable holds one key per lead whose data is readable. Stored: never rename.
const leadKeysTable = "ledger_lead_keys"

// leadKeyColumn reads an event's lead's key beside it (NULL once erased). A subquery rather
// than a join, so each read looks up exactly the keys of the rows it returns, by primary key,
// whatever the planner thinks of the keys table's size.
const leadKeyColumn = `(SELECT lead_key FROM ` + leadKeysTable + ` WHERE ` + leadKeysTable + `.lead_id = ` +
	eventsTable + `.stream_id) AS lead_key`

// A lead key is stored as its id then the AES-256 key. Each sealed value starts with the id of
// the key that sealed it, so a value sealed under a key since destroyed reads as erased even
// when the lead has a new key (data that arrived after the erasure).
const (
	keyIDSize = 16
	keySize   = 32
)

// erasedData is the data column of an event imported already erased: nothing to open.
const erasedData = "erased"

// leadKey is one lead's key: its id and its cipher.
type leadKey struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

func newLeadKey() (leadKey, []byte, error) {
	stored := make([]byte, keyIDSize+keySize)
	if _, err := rand.Read(stored); err != nil {
		return leadKey{}, nil, fmt.Errorf("make a lead key: %w", err)
	}
	k, err := parseLeadKey(stored)
	return k, stored, err
}

func parseLeadKey(stored []byte) (leadKey, error) {
	var k leadKey
	if len(stored) != keyIDSize+keySize {
		return k, fmt.Errorf("a lead key is %d bytes, not %d", keyIDSize+keySize, len(stored))
	}
	block, err := aes.NewCipher(stored[keyIDSize:])
	if err != nil {
		return k, fmt.Errorf("lead key: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return k, fmt.Errorf("lead key: %w", err)
	}
	copy(k.id[:], stored)
	return k, nil
}

// seal encrypts one personal value of an event. The event id and which value it is are
// authenticated with it, so sealed values cannot be swapped between events or fields.
func (k leadKey) seal(eventID uuid.UUID, field string, plain []byte) []byte {
	out := make([]byte, keyIDSize+k.aead.NonceSize(), keyIDSize+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	copy(out, k.id[:])
	_, _ = rand.Read(out[keyIDSize:]) // crypto/rand never fails on supported platforms
	return k.aead.Seal(out, out[keyIDSize:], plain, additionalData(eventID, field))
}

// errShredded says a value was sealed under a key that no longer exists: it was erased.
var errShredded = errors.New("erased")

// open decrypts a value sealed by seal; errShredded when k is not the key that sealed it.
func (k *leadKey) open(eventID uuid.UUID, field string, sealed []byte) ([]byte, error) {
	if k == nil || len(sealed) < keyIDSize || !bytes.Equal(sealed[:keyIDSize], k.id[:]) {
		return nil, errShredded
	}
	rest, n := sealed[keyIDSize:], k.aead.NonceSize()
	if len(rest) < n {
		return nil, fmt.Errorf("event %s: its sealed %s is truncated", eventID, field)
	}
	plain, err := k.aead.Open(nil, rest[:n], rest[n:], additionalData(eventID, field))
	if err != nil {
		return nil, fmt.Errorf("event %s: its sealed %s does not open: it was changed", eventID, field)
	}
	return plain, nil
}

func additionalData(eventID uuid.UUID, field string) []byte {
	return append(eventID[:], field...)
}

// The fields sealed, as named in their additional data.
const (
	sealedRaw  = "raw"
	sealedData = "data"
)

// sealed reports whether events of a type are stored sealed.
func sealed(t domain.EventType) bool { return t != domain.LeadErased }

// storedKey reads a lead key as a join returns it: nil when the lead has none.
func storedKey(stored []byte) (*leadKey, error) {
	if stored == nil {
		return nil, nil
	}
	k, err := parseLeadKey(stored)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// openStored turns an event's stored payload and data column back into its raw body and its
// data as JSON; erased when its lead's key was destroyed since they were sealed.
func openStored(e *domain.Event, key, payload, data []byte) (raw, dataJSON []byte, erased bool, err error) {
	if !sealed(e.Type) {
		return payload, data, false, nil
	}
	k, err := storedKey(key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("event %s: %w", e.ID, err)
	}
	if raw, erased, err = openField(e, k, sealedRaw, payload); erased || err != nil {
		return nil, []byte("{}"), erased, err
	}
	if dataJSON, erased, err = openField(e, k, sealedData, data); erased || err != nil {
		return nil, []byte("{}"), erased, err
	}
	return raw, dataJSON, false, nil
}

// openOne is openStored for a read of one of the two: the raw body (field sealedRaw) or the data.
func openOne(e *domain.Event, key []byte, field string, stored []byte) (plain []byte, erased bool, err error) {
	if !sealed(e.Type) {
		return stored, false, nil
	}
	k, err := storedKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return openField(e, k, field, stored)
}

// openField opens one sealed field; erased when k did not seal it (or there is no k).
func openField(e *domain.Event, k *leadKey, field string, stored []byte) (plain []byte, erased bool, err error) {
	if field == sealedData {
		if string(stored) == erasedData {
			return nil, true, nil
		}
		if stored, err = base64.StdEncoding.AppendDecode(nil, stored); err != nil {
			return nil, false, fmt.Errorf("event %s: its sealed data is not base64: %w", e.ID, err)
		}
	}
	plain, err = k.open(e.ID, field, stored)
	if errors.Is(err, errShredded) {
		return nil, true, nil
	}
	return plain, false, err
}

// sealEvent is an event's payload and data column as stored: sealed under k, or as they are
// for an event that is not sealed; an event imported erased stores nothing to open.
func sealEvent(e *domain.Event, k *leadKey, dataJSON []byte) (payload []byte, data string) {
	switch {
	case !sealed(e.Type):
		return e.Raw, string(dataJSON)
	case e.Erased:
		return []byte{}, erasedData
	}
	return k.seal(e.ID, sealedRaw, e.Raw), base64.StdEncoding.EncodeToString(k.seal(e.ID, sealedData, dataJSON))
}

// batchKeys gives each event of a batch its lead's key, in log order, and writes the keys'
// changes in the batch's transaction. A lead without a key gets a new one; a LeadErased event
// destroys its lead's key, so an event after it gets a new one. stored are the batch's leads'
// keys as the transaction found them. Events that are not sealed get no key.
func (s *Store) batchKeys(ctx context.Context, session appendSession, stored map[uuid.UUID][]byte, events []*domain.Event) ([]*leadKey, error) {
	current := maps.Clone(stored)
	opened := map[uuid.UUID]*leadKey{}
	keys := make([]*leadKey, len(events))
	for i, e := range events {
		if e.Type == domain.LeadErased {
			delete(current, e.LeadID)
			delete(opened, e.LeadID)
			continue
		}
		if !sealed(e.Type) || e.Erased {
			continue
		}
		if opened[e.LeadID] == nil {
			b, ok := current[e.LeadID]
			var k leadKey
			var err error
			if ok {
				k, err = parseLeadKey(b)
			} else {
				k, b, err = newLeadKey()
				current[e.LeadID] = b
			}
			if err != nil {
				return nil, fmt.Errorf("lead %s: %w", e.LeadID, err)
			}
			opened[e.LeadID] = &k
		}
		keys[i] = opened[e.LeadID]
	}
	return keys, s.writeKeyChanges(ctx, session, stored, current)
}

// writeKeyChanges deletes the keys destroyed or replaced, then inserts the new ones.
func (s *Store) writeKeyChanges(ctx context.Context, session appendSession, before, after map[uuid.UUID][]byte) error {
	var gone, made []any
	for lead, k := range before {
		if now, ok := after[lead]; !ok || !bytes.Equal(now, k) {
			gone = append(gone, lead.String())
		}
	}
	for _, lead := range slices.SortedFunc(maps.Keys(after), func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }) {
		if was, ok := before[lead]; !ok || !bytes.Equal(was, after[lead]) {
			made = append(made, lead.String(), after[lead])
		}
	}
	if len(gone) > 0 {
		if _, err := session.ExecContext(ctx, `DELETE FROM `+leadKeysTable+` WHERE lead_id IN (`+
			s.dialect.list(1, len(gone))+`)`, gone...); err != nil {
			return fmt.Errorf("destroy the keys of %d erased leads: %w", len(gone), err)
		}
	}
	for len(made) > 0 { // 500 keys a statement: both databases limit a statement's arguments
		chunk := made[:min(len(made), 1000)]
		made = made[len(chunk):]
		values := make([]string, 0, len(chunk)/2)
		for i := 0; i < len(chunk); i += 2 {
			values = append(values, "("+s.dialect.list(i+1, 2)+")")
		}
		if _, err := session.ExecContext(ctx, `INSERT INTO `+leadKeysTable+` (lead_id, lead_key) VALUES `+
			strings.Join(values, ","), chunk...); err != nil {
			return fmt.Errorf("store the keys of %d leads: %w", len(chunk)/2, err)
		}
	}
	return nil
}

// leadKeysQuery reads the keys of some leads (SQLite; PostgreSQL reads them in its append's
// first round trip).
func (s *Store) leadKeysQuery(leads []uuid.UUID) (string, []any) {
	args := make([]any, len(leads))
	for i, id := range leads {
		args[i] = id.String()
	}
	return `SELECT lead_id, lead_key FROM ` + leadKeysTable + ` WHERE lead_id IN (` + s.dialect.list(1, len(leads)) + `)`, args
}

// scanLeadKeys reads rows of (lead_id, lead_key).
func scanLeadKeys(rows interface{ Scan(...any) error }, into map[uuid.UUID][]byte) error {
	var lead uuid.UUID
	var key []byte
	if err := rows.Scan(&lead, &key); err != nil {
		return fmt.Errorf("read lead keys: %w", err)
	}
	into[lead] = key
	return nil
}
