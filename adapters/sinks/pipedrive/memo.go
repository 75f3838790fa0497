package pipedrive

import (
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

const (
	// memoTTL is how long what an interrupted call achieved is kept for its retry. The
	// delivery loop retries within seconds to minutes; a retry after that goes through the
	// lookups, which are safe, only dearer.
	memoTTL = 15 * time.Minute
	// memoMax bounds the memo, should calls keep failing and never be retried.
	memoMax = 1000
)

// progress is what is known of one record's write so far.
type progress struct {
	personID int
	leadID   string
	// personCreated: the person was created for this record, in this attempt or an interrupted
	// one, so the Outcome still says Created on the retry that completes it.
	personCreated bool
	// leadUnsure: a lead create was sent and no reply came, so the lead may exist; the lookup
	// is then needed even for a person created for the record.
	leadUnsure bool
}

// memo keeps, per record key, what interrupted calls achieved: the outcomes of the records
// they finished and the progress of the one they stopped in. It also keeps the persons the
// Client created lately, by email, for the search index may not show them yet.
type memo struct {
	mu      sync.Mutex
	entries map[string]memoEntry
	created map[string]createdPerson // lowercased email → person
	now     func() time.Time
}

type createdPerson struct {
	id int
	at time.Time
}

type memoEntry struct {
	fingerprint string
	progress    progress
	outcome     *crm.Outcome // nil while the record is unfinished
	at          time.Time
}

func newMemo() *memo {
	return &memo{entries: map[string]memoEntry{}, created: map[string]createdPerson{}, now: time.Now}
}

// finished returns the outcome of a record that an interrupted call finished, when the record
// asks the same as then (same fingerprint).
func (m *memo) finished(key, fp string) (crm.Outcome, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.live(key)
	if !ok || e.outcome == nil || e.fingerprint != fp {
		return crm.Outcome{}, false
	}
	out := *e.outcome
	out.ExternalIDs = maps.Clone(out.ExternalIDs)
	return out, true
}

// progress returns what is known of a record's write. The ids hold even if the record changed
// since: they are Pipedrive's.
func (m *memo) progress(key string) progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, _ := m.live(key)
	return e.progress
}

// keep records a record's progress, and its outcome once finished.
func (m *memo) keep(key, fp string, p progress, out *crm.Outcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, present := m.entries[key]; !present && len(m.entries) >= memoMax {
		for k := range m.entries {
			if _, ok := m.live(k); !ok {
				delete(m.entries, k)
			}
		}
		if len(m.entries) >= memoMax {
			clear(m.entries) // only costs the retries some lookups
		}
	}
	e := memoEntry{fingerprint: fp, progress: p, at: m.now()}
	if out != nil {
		copied := *out
		copied.ExternalIDs = maps.Clone(out.ExternalIDs)
		e.outcome = &copied
	}
	m.entries[key] = e
}

// forget drops the records of a call that returned its outcomes.
func (m *memo) forget(records []crm.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range records {
		delete(m.entries, r.Key)
	}
}

// live returns a key's entry unless it expired (then dropped). Caller holds m.mu.
func (m *memo) live(key string) (memoEntry, bool) {
	e, ok := m.entries[key]
	if ok && m.now().Sub(e.at) > memoTTL {
		delete(m.entries, key)
		return memoEntry{}, false
	}
	return e, ok
}

// createdWith returns the person the Client created lately with this email, or 0.
func (m *memo) createdWith(email string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := strings.ToLower(email)
	c, ok := m.created[key]
	if ok && m.now().Sub(c.at) > memoTTL {
		delete(m.created, key)
		return 0
	}
	return c.id
}

// personCreated records a person the Client created, by email; forgetPerson drops one found
// gone.
func (m *memo) personCreated(email string, id int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.created) >= memoMax {
		clear(m.created) // only costs a search
	}
	m.created[strings.ToLower(email)] = createdPerson{id: id, at: m.now()}
}

func (m *memo) forgetPerson(email string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.created, strings.ToLower(email))
}
