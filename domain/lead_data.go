package domain

import "encoding/json"

// LeadData is the normalised content of a lead event: what the vendor told us about the lead,
// in the ledger's own field names. It is derived from the raw body and can be recomputed from it.
// Its JSON form is stored in the log, so its field names are part of the stored format.
type LeadData struct {
	ExternalID string `json:"external_id,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
	Name       string `json:"name,omitempty"`
	// Email is the address as sent; EmailNormalized is the form leads are matched by.
	Email           string `json:"email,omitempty"`
	EmailNormalized string `json:"email_normalized,omitempty"`
	Phone           string `json:"phone,omitempty"`
	Company         string `json:"company,omitempty"`
	Status          string `json:"status,omitempty"`
	// Score is kept as the vendor's exact number.
	Score     json.Number `json:"score,omitempty"`
	Spam      *bool       `json:"spam,omitempty"`
	Duplicate *bool       `json:"duplicate,omitempty"`
	Message   string      `json:"message,omitempty"`

	Attribution  map[string]string          `json:"attribution,omitempty"`
	CustomFields map[string]json.RawMessage `json:"custom_fields,omitempty"`
	Conversation *Conversation              `json:"conversation,omitempty"`

	// VendorCreatedAt and VendorUpdatedAt are the vendor's own record times, as sent.
	VendorCreatedAt string `json:"vendor_created_at,omitempty"`
	VendorUpdatedAt string `json:"vendor_updated_at,omitempty"`

	// Extra keeps every top-level field the parser does not map, byte for byte.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Conversation is a chat conversation attached to a lead.
type Conversation struct {
	ID              string      `json:"id,omitempty"`
	Transcript      string      `json:"transcript,omitempty"`
	MessageCount    json.Number `json:"message_count,omitempty"`
	DurationSeconds json.Number `json:"duration_seconds,omitempty"`
	LeadCaptured    *bool       `json:"lead_captured,omitempty"`
	EndedAt         string      `json:"ended_at,omitempty"`
}

// SetEmail stores an email as sent together with its normalised form.
func (d *LeadData) SetEmail(email string) {
	d.Email = email
	d.EmailNormalized = NormalizeEmail(email)
}
