// Package crm holds what every CRM destination shares: the record a CRM receives, what became
// of it, and the call-level errors the delivery loop reacts to. Each CRM's client lives in its
// own package beside this one (hubspot, salesforce, pipedrive) and speaks only its REST API.
//
// A client writes a batch of records with one method,
//
//	Upsert(ctx context.Context, records []Record) ([]Outcome, error)
//
// and says how many records one call may carry (MaxBatch). A call-level error (*Throttled,
// ErrUnauthorized, or any other: network, 5xx, a reply that cannot be read) means no outcome
// is known and the whole batch is retried; a record-level rejection comes back in Outcome.Err
// and does not stop the others.
package crm

import (
	"errors"
	"fmt"
	"time"
)

// Record is one person (or one lead, with key lead_id) as a CRM receives it.
type Record struct {
	// Key is the record key: the normalised email, or the lead id. It goes into the CRM's
	// unique property (HubSpot id_property, Salesforce external id field), so writing the
	// same key again updates the record instead of creating another.
	Key string
	// Fields are the CRM's field names and the values to write, after mapping. Empty values
	// are left out: a CRM field is never blanked by the ledger.
	Fields map[string]string
	// ExternalIDs are the ids this CRM gave the record on earlier writes (Pipedrive's
	// person_id and lead_id), as returned in Outcome.ExternalIDs; nil on the first write.
	ExternalIDs map[string]string
}

// Outcome is what became of one record of a batch, at the same index.
type Outcome struct {
	// ExternalID is the CRM's id of the record (HubSpot contact id, Salesforce Lead id,
	// Pipedrive person id).
	ExternalID string
	// ExternalIDs are every id worth remembering for the next write (see Record.ExternalIDs).
	ExternalIDs map[string]string
	// Created is true when this write created the record.
	Created bool
	// Err is a rejection of this record alone (an invalid email, a missing required field,
	// a duplicate rule): the other records are unaffected and retrying unchanged will fail
	// again. Its text is the CRM's own message.
	Err error
}

// Throttled is a call refused for a rate limit: HubSpot's and Pipedrive's 429, Salesforce's
// REQUEST_LIMIT_EXCEEDED. Nothing of the call was written.
type Throttled struct {
	// RetryAfter is the CRM's Retry-After, or 0 when it sent none.
	RetryAfter time.Duration
	// Daily is true for a daily quota (HubSpot policyName DAILY, Salesforce's daily API
	// request limit, Pipedrive's daily token budget): retrying before it resets is useless.
	Daily bool
	// Policy names the limit as the CRM did (TEN_SECONDLY_ROLLING, DAILY, ...).
	Policy string
	// Message is the CRM's own text.
	Message string
}

func (t *Throttled) Error() string {
	if t.Policy != "" {
		return fmt.Sprintf("rate limited (%s): %s", t.Policy, t.Message)
	}
	return "rate limited: " + t.Message
}

// ErrUnauthorized wraps a call refused for its credentials (after a refresh, where the CRM
// has one). The sink shows failing until they are fixed.
var ErrUnauthorized = errors.New("the CRM refused the credentials")
