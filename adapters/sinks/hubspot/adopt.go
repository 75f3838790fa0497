package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// existingIDPattern finds the contact named in HubSpot's 409, "Contact already exists.
// Existing ID: 123" (older replies have category CONFLICT, newer OBJECT_ALREADY_EXISTS; the
// message is the same).
var existingIDPattern = regexp.MustCompile(`Existing ID: ?(\d+)`)

func existingID(message string) (string, bool) {
	m := existingIDPattern.FindStringSubmatch(message)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// adoptContact writes record r into contact id, which HubSpot said already has r's email,
// setting the id property to r's key so later upserts find it. It first reads the contact: one
// that already holds another key belongs to another record (two leads sharing an email under
// key lead_id), and taking it over would make the two records take it from each other on
// every write, so r is rejected instead. HubSpot's refusal of the read or the update becomes
// r's Outcome.Err; a call-level error is returned.
func (c *Client) adoptContact(ctx context.Context, r crm.Record, id string, conflict *Error, out *crm.Outcome) error {
	path := "/crm/v3/objects/contacts/" + url.PathEscape(id)
	var current struct {
		Properties map[string]*string `json:"properties"`
	}
	err := c.call(ctx, http.MethodGet, path+"?properties="+url.QueryEscape(c.idProperty), nil, &current)
	if refusal, ok := err.(*Error); ok {
		*out = crm.Outcome{Err: fmt.Errorf("%w; reading contact %s to update it instead: %w", conflict, id, refusal)}
		return nil
	}
	if err != nil {
		return err
	}
	if held := current.Properties[c.idProperty]; held != nil && *held != "" && c.fold(*held) != c.fold(r.Key) {
		*out = crm.Outcome{Err: fmt.Errorf("%w (contact %s already holds another %s, so it is not updated instead)",
			conflict, id, c.idProperty)}
		return nil
	}

	var updated struct {
		ID string `json:"id"`
	}
	err = c.call(ctx, http.MethodPatch, path, map[string]any{"properties": c.properties(r)}, &updated)
	if refusal, ok := err.(*Error); ok {
		*out = crm.Outcome{Err: fmt.Errorf("%w; updating contact %s instead: %w", conflict, id, refusal)}
		return nil
	}
	if err != nil {
		return err
	}
	if updated.ID == "" {
		updated.ID = id
	}
	*out = crm.Outcome{ExternalID: updated.ID}
	return nil
}
