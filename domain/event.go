// Package domain holds the ledger's facts about leads: event types, normalised lead data, the
// rules that derive ids, and domain errors. It does no I/O and imports no framework.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
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
)

// Valid reports whether t is one of the stored event types.
func (t EventType) Valid() bool {
	switch t {
	case LeadCaptured, LeadUpdated, ConversationEnded:
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
