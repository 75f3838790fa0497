package eventstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// querier is what reads need of a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ChainReader reads the log page by page for a verification, opening each sealed raw body
// with its lead's key. Keys are looked up by lead, at random places in their table: one lookup
// beside every row was half of verify's time. So the reader keeps the keys it has read, and
// starts by reading the whole table in one pass when it holds no more keys than it may keep
// (a hash join, in memory); a page's events whose keys it does not hold have them read in one
// query per hundred leads. Safe for concurrent pages.
//
// A page's keys are read after its events: a key destroyed in between was destroyed by an
// erasure already committed, whose LeadErased the verification meets later on. A key kept from
// before an erasure still opens what it sealed: a verification sees the log as it found it.
type ChainReader struct {
	store *Store
	keys  keyCache
	// keysQuery reads keysPerQuery leads' keys: prepared once, as parsing a query of a
	// thousand placeholders cost more than its lookups.
	keysQuery *sql.Stmt
}

// NewChainReader starts a reader that keeps at most 2 × keepKeys lead keys, 80 bytes each.
// Close it when done.
func (s *Store) NewChainReader(ctx context.Context, keepKeys int) (*ChainReader, error) {
	query, _ := s.leadKeysQuery(make([]uuid.UUID, keysPerQuery))
	stmt, err := s.reads.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare the lead keys query: %w", err)
	}
	r := &ChainReader{store: s, keys: keyCache{limit: keepKeys}, keysQuery: stmt}
	if err := r.readAllKeys(ctx); err != nil {
		_ = stmt.Close()
		return nil, err
	}
	return r, nil
}

// readAllKeys reads every lead's key in one pass of their table, if they are few enough to keep.
func (r *ChainReader) readAllKeys(ctx context.Context) error {
	var n int
	if err := r.store.reads.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+leadKeysTable).Scan(&n); err != nil {
		return fmt.Errorf("count the lead keys: %w", err)
	}
	if n > r.keys.limit {
		return nil
	}
	rows, err := r.store.reads.QueryContext(ctx, `SELECT lead_id, lead_key FROM `+leadKeysTable)
	if err == nil {
		err = errors.Join(readResultSets(rows, func(rows *sql.Rows) error {
			var lead uuid.UUID
			var key []byte
			if err := rows.Scan(&lead, &key); err != nil {
				return err
			}
			r.keys.put(lead, key)
			return nil
		}), rows.Close())
	}
	if err != nil {
		return fmt.Errorf("read the lead keys: %w", err)
	}
	return nil
}

// ReadChain reads a page of events after a position with what verifying them needs: the
// fields their hash covers, the raw body, opened, and the stored hash (no normalised data).
// A sealed raw body that does not open (its bytes were changed) comes as it is stored.
// upTo, when not 0, is the last position it may return.
func (r *ChainReader) ReadChain(ctx context.Context, after, upTo int64, limit int) ([]domain.Event, error) {
	events, err := readChain(ctx, r.store.reads, r.store, after, upTo, limit, true)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, len(events))
	unknown := map[uuid.UUID][]byte{}
	for i, e := range events {
		if !sealed(e.Type) {
			continue
		}
		if k := r.keys.get(e.LeadID); sealedWith(k, e.Raw) {
			keys[i] = k
		} else {
			unknown[e.LeadID] = nil
		}
	}
	if err := r.readKeys(ctx, unknown); err != nil {
		return nil, err
	}
	for i := range events {
		e := &events[i]
		if keys[i] == nil {
			keys[i] = unknown[e.LeadID]
		}
		payload := e.Raw
		if e.Raw, e.Erased, err = openOne(e, keys[i], sealedRaw, payload); err != nil {
			e.Raw = payload // as stored: its SHA-256 is not raw_sha256, and verification says so
		}
	}
	return events, nil
}

// sealedWith reports whether a stored key is the one that sealed a value: each sealed value
// starts with its key's id. A lead erased and back since has a new key.
func sealedWith(key, sealedValue []byte) bool {
	return len(key) >= keyIDSize && len(sealedValue) >= keyIDSize && string(key[:keyIDSize]) == string(sealedValue[:keyIDSize])
}

// keysPerQuery is how many leads' keys one prepared query reads.
const keysPerQuery = 100

// readKeys reads the keys of the leads in unknown into it and into the cache; a lead without
// a key keeps nil.
func (r *ChainReader) readKeys(ctx context.Context, unknown map[uuid.UUID][]byte) error {
	leads := slices.Collect(maps.Keys(unknown))
	args := make([]any, keysPerQuery)
	for len(leads) > 0 {
		chunk := leads[:min(len(leads), keysPerQuery)]
		leads = leads[len(chunk):]
		for i := range args { // a short chunk repeats its last lead
			args[i] = chunk[min(i, len(chunk)-1)].String()
		}
		rows, err := r.keysQuery.QueryContext(ctx, args...)
		if err == nil {
			err = errors.Join(readResultSets(rows, func(rows *sql.Rows) error { return scanLeadKeys(rows, unknown) }), rows.Close())
		}
		if err != nil {
			return fmt.Errorf("read the keys of %d leads: %w", len(chunk), err)
		}
	}
	for lead, key := range unknown {
		r.keys.put(lead, key)
	}
	return nil
}

// Close releases the reader's prepared statement.
func (r *ChainReader) Close() error {
	return r.keysQuery.Close()
}

// keyCache keeps recently read lead keys in two generations of at most limit each: when the
// newer one fills up, the older one is dropped. Constant memory, however long the log; keys
// held as arrays, so the garbage collector has nothing in it to scan.
type keyCache struct {
	mu          sync.Mutex
	limit       int
	now, before map[uuid.UUID]storedLeadKey
}

type storedLeadKey [keyIDSize + keySize]byte

// get is a lead's key as last read; nil when it had none or is not kept.
func (c *keyCache) get(lead uuid.UUID) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.now[lead]
	if !ok {
		if k, ok = c.before[lead]; !ok {
			return nil
		}
		c.putLocked(lead, k)
	}
	return k[:]
}

// put keeps a key as read. A stored key of the wrong size is left out: what it sealed then
// reads as erased, and the verification, finding no LeadErased after it, fails there.
func (c *keyCache) put(lead uuid.UUID, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(key) == len(storedLeadKey{}) {
		c.putLocked(lead, storedLeadKey(key))
	}
}

func (c *keyCache) putLocked(lead uuid.UUID, key storedLeadKey) {
	if len(c.now) >= c.limit || c.now == nil {
		c.before, c.now = c.now, map[uuid.UUID]storedLeadKey{}
	}
	c.now[lead] = key
}
