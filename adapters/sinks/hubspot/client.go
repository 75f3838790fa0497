// Package hubspot writes ledger records into HubSpot contacts through the CRM v3 API. Each
// record is upserted by a unique contact property (Config.IDProperty, "ledger_key" by
// default) holding the record key, so writing a record again updates its contact instead of
// creating another. One Upsert call is one batch upsert of at most 100 records.
//
// HubSpot refuses a whole batch for one bad input (an invalid email, an email another contact
// already has) without saying which input it was; the client then finds the culprits by
// halving the batch and reports them in their Outcome.Err, writing the others. See Upsert.
package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

const (
	// DefaultBaseURL is HubSpot's API.
	DefaultBaseURL = "https://api.hubapi.com"
	// DefaultIDProperty is the contact property that holds the record key unless
	// Config.IDProperty names another; it must be created in HubSpot as a unique property.
	DefaultIDProperty = "ledger_key"
	// maxBatch is HubSpot's limit on the inputs of one batch call.
	maxBatch = 100
)

// Config sets up a Client.
type Config struct {
	// BaseURL is the API's origin; defaults to DefaultBaseURL (a fake's in tests).
	BaseURL string
	// Token is the private-app access token, sent as "Authorization: Bearer"; required. It
	// never appears in an error.
	Token string
	// IDProperty is the unique contact property holding the record key; defaults to
	// DefaultIDProperty.
	IDProperty string
	// AdoptExisting: when HubSpot refuses to create a record's contact because another contact
	// already has its email (409 "Contact already exists. Existing ID: N"), update contact N
	// instead, setting IDProperty to the record key, rather than failing the record. A contact
	// that already holds another record's key is not taken over.
	AdoptExisting bool
	// HTTPClient sends the requests; defaults to one with a 10 s timeout.
	HTTPClient *http.Client
}

// Client writes records into HubSpot contacts. It is safe for concurrent use and never logs.
type Client struct {
	base       string
	token      string
	idProperty string
	adopt      bool
	http       *http.Client
}

// New checks cfg and returns a Client; it makes no request.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("hubspot: a token is required")
	}
	// A token that cannot go into a header would fail every request; say so now, without
	// quoting it.
	if strings.ContainsFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("hubspot: the token contains spaces or control characters")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hubspot: base URL %q is not an http(s) URL", base)
	}
	idProperty := cfg.IDProperty
	if idProperty == "" {
		idProperty = DefaultIDProperty
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{
		base:       strings.TrimRight(base, "/"),
		token:      cfg.Token,
		idProperty: idProperty,
		adopt:      cfg.AdoptExisting,
		http:       hc,
	}, nil
}

// MaxBatch is the most records one Upsert call takes: HubSpot's batch limit.
func (c *Client) MaxBatch() int { return maxBatch }

// Upsert creates or updates one contact per record, keyed by IDProperty = record.Key, and
// returns the outcomes in the records' order: the contact id, whether it was created, or the
// record's own rejection (Outcome.Err, HubSpot's message) which does not stop the others.
//
// It is one batch upsert request, unless
//   - HubSpot refuses the batch for one input (400, 409) without naming it: the batch is
//     halved and each half sent again, down to single records, so the culprits get an
//     Outcome.Err and the rest are written (about 2·log2(n) more requests per culprit);
//   - a single record is refused with 409 and AdoptExisting is set: the existing contact is
//     read and then updated (two requests);
//   - two records share a key: the later one goes in a second request, so it is written last.
//
// An error means no outcome is known and the whole call may be retried (upserts are
// idempotent, though a contact created by a half that succeeded before the error will then
// report Created false): *crm.Throttled for a 429, one wrapping crm.ErrUnauthorized for a
// 401 or 403, or a plain error (network, 5xx, a reply that cannot be read).
func (c *Client) Upsert(ctx context.Context, records []crm.Record) ([]crm.Outcome, error) {
	if len(records) > maxBatch {
		return nil, fmt.Errorf("hubspot: %d records in one upsert, at most %d", len(records), maxBatch)
	}
	out := make([]crm.Outcome, len(records))
	for _, round := range c.rounds(records, out) {
		if err := c.write(ctx, records, round, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rounds groups the indexes of the records to send so that no request carries a key twice
// (HubSpot refuses duplicate ids in a batch); the n-th record with a key goes in round n. A
// record without a key is rejected here.
func (c *Client) rounds(records []crm.Record, out []crm.Outcome) [][]int {
	var rounds [][]int
	seen := make(map[string]int, len(records))
	for i, r := range records {
		if r.Key == "" {
			out[i].Err = errors.New("the record has no key")
			continue
		}
		k := c.fold(r.Key)
		n := seen[k]
		seen[k] = n + 1
		if n == len(rounds) {
			rounds = append(rounds, make([]int, 0, len(records)))
		}
		rounds[n] = append(rounds[n], i)
	}
	return rounds
}

// fold is how HubSpot compares values of the id property: emails without case.
func (c *Client) fold(key string) string {
	if c.idProperty == "email" {
		return strings.ToLower(key)
	}
	return key
}

// properties is what a record writes: its fields, and the key in the id property (so a
// contact adopted or created carries it). Empty values are left out: "" would clear the
// property in HubSpot, and the ledger never blanks a CRM field.
func (c *Client) properties(r crm.Record) map[string]string {
	props := make(map[string]string, len(r.Fields)+1)
	for k, v := range r.Fields {
		if v != "" {
			props[k] = v
		}
	}
	props[c.idProperty] = r.Key
	return props
}
