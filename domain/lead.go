package domain

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Lead is the current view of one lead, folded from its events by Apply. Everything in it
// comes from the events (times included), so folding the same events again gives the same lead.
type Lead struct {
	ID              uuid.UUID
	Source          string
	Vendor          string
	ExternalID      string
	FirstName       string
	LastName        string
	Name            string
	Email           string
	EmailNormalized string
	Phone           string
	Company         string
	Status          string
	Score           json.Number `json:",omitempty"` // "" when the vendor sent none (an empty Number would encode as 0)
	Spam            bool
	Duplicate       bool
	Attribution     map[string]string
	CustomFields    map[string]json.RawMessage
	Conversations   []Conversation
	CreatedAt       time.Time // received_at of the lead's first event
	UpdatedAt       time.Time // received_at of the last event that changed the lead
	EventCount      int       // every event of the lead, applied or not
	LastPosition    int64

	// Clocks holds, per field, the vendor time of the value it has, so an older update never
	// overwrites a newer value.
	Clocks map[string]string
	// Seen holds the content digests of the events applied, to recognise a re-sent update.
	Seen []string
}

// SkipReason says why an event did not change its lead.
type SkipReason string

// The reasons an event changes nothing.
const (
	SkipNone      SkipReason = ""
	SkipDuplicate SkipReason = "duplicate" // the same content was applied before
	SkipStale     SkipReason = "stale"     // older than what the lead already has
	SkipErased    SkipReason = "erased"    // its personal data was erased before the view read it
)

// Outcome is what applying one event did to its lead.
type Outcome struct {
	Applied    bool
	SkipReason SkipReason
}
