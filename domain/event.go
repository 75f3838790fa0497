// Package domain holds the ledger's facts about leads: event types, normalised lead data, the
// rules that derive ids, and domain errors. It does no I/O and imports no framework.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// EventType names a stored event. The strings are stored in the log: never rename them.
type EventType string

// The event types the ledger stores.
const (
	LeadCaptured      EventType = "LeadCaptured"
	LeadUpdated       EventType = "LeadUpdated"
	ConversationEnded EventType = "ConversationEnded"
	// LeadErased records that a lead's personal data was erased, by whom and when. It holds no
	// personal data of its own, so it is the one event stored unsealed.
	LeadErased EventType = "LeadErased"
)

// Valid reports whether t is one of the stored event types.
func (t EventType) Valid() bool {
	switch t {
	case LeadCaptured, LeadUpdated, ConversationEnded, LeadErased:
		return true
	}
	return false
}

// Parsed is what a vendor parser makes of one webhook body, before it becomes an Event.
type Parsed struct {
	Type EventType
	// LeadKey is the vendor's own key for the lead (its lead id, visitor id, or the normalised email).
	LeadKey string
	// OccurredAt is the vendor's time for the event, exactly as sent ("" when the vendor sends none).
	OccurredAt string
	Data       LeadData
}

// Event is one immutable fact in the log.
type Event struct {
	ID     uuid.UUID
	Type   EventType
	LeadID uuid.UUID
	Source string
	Vendor string
	// ReceivedAt is when the ledger received the webhook.
	ReceivedAt time.Time
	// OccurredAt is the vendor's time for the event exactly as sent (it may lack a zone, so it
	// stays a string), or the time of receipt when the vendor sends none.
	OccurredAt string
	Data       LeadData
	// Raw is the body exactly as received; RawSHA256 is its hex SHA-256.
	Raw       []byte
	RawSHA256 string

	// Version is the event's place in its lead's stream (1, 2, ...). Zero asks the store for the next one.
	Version int64
	// Position is the event's place in the global log, assigned by the store.
	Position int64
	// Hash is the event's link in the log's hash chain (hex SHA-256), set by the store.
	Hash string
	// Erased says the lead's personal data was erased: Raw and Data are gone, the rest stays.
	Erased bool
}

// NewEvent turns a parsed webhook from a source into an event with a fresh id and a deterministic lead id.
func NewEvent(source, vendor string, p Parsed, raw []byte, receivedAt time.Time) Event {
	sum := sha256.Sum256(raw)
	// Microseconds: what PostgreSQL keeps, so a read returns what was written.
	receivedAt = receivedAt.UTC().Truncate(time.Microsecond)
	occurredAt := p.OccurredAt
	if occurredAt == "" {
		occurredAt = receivedAt.Format(time.RFC3339Nano)
	}
	return Event{
		ID:         uuid.Must(uuid.NewV7()),
		Type:       p.Type,
		LeadID:     LeadID(source, p.LeadKey),
		Source:     source,
		Vendor:     vendor,
		ReceivedAt: receivedAt,
		OccurredAt: occurredAt,
		Data:       p.Data,
		Raw:        raw,
		RawSHA256:  hex.EncodeToString(sum[:]),
	}
}

// Erasure is the event that erases a lead's personal data: who asked, and when.
type Erasure struct {
	ErasedBy string    `json:"erased_by"`
	ErasedAt time.Time `json:"erased_at"`
}

// NewErasure is the LeadErased event of a lead, in its source, asked for by an operator.
func NewErasure(leadID uuid.UUID, source, by string, at time.Time) Event {
	at = at.UTC().Truncate(time.Microsecond)
	raw, _ := json.Marshal(Erasure{ErasedBy: by, ErasedAt: at}) // a string and a time always marshal
	sum := sha256.Sum256(raw)
	return Event{
		ID:         uuid.Must(uuid.NewV7()),
		Type:       LeadErased,
		LeadID:     leadID,
		Source:     source,
		Vendor:     "leadledger",
		ReceivedAt: at,
		OccurredAt: at.Format(time.RFC3339Nano),
		Raw:        raw,
		RawSHA256:  hex.EncodeToString(sum[:]),
	}
}
