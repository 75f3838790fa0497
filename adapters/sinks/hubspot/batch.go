package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

const upsertPath = "/crm/v3/objects/contacts/batch/upsert"

type upsertInput struct {
	IDProperty string            `json:"idProperty"`
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	// ObjectWriteTraceID is the input's position in its request: HubSpot echoes it in the
	// input's result, and in the context of its error in a multi-status (207) reply.
	ObjectWriteTraceID string `json:"objectWriteTraceId"`
}

type upsertReply struct {
	Status  string         `json:"status"`
	Results []upsertResult `json:"results"`
	Errors  []batchError   `json:"errors"`
}

type upsertResult struct {
	ID                 string             `json:"id"`
	Properties         map[string]*string `json:"properties"` // HubSpot answers null for an unset property
	New                bool               `json:"new"`
	ObjectWriteTraceID string             `json:"objectWriteTraceId"`
}

// batchError is one error of a multi-status reply; its context names the inputs it is about.
type batchError struct {
	Category string                     `json:"category"`
	Message  string                     `json:"message"`
	Context  map[string]json.RawMessage `json:"context"`
}

// write upserts the records at idx in one request and fills their outcomes.
func (c *Client) write(ctx context.Context, records []crm.Record, idx []int, out []crm.Outcome) error {
	inputs := make([]upsertInput, len(idx))
	for j, i := range idx {
		inputs[j] = upsertInput{
			IDProperty:         c.idProperty,
			ID:                 records[i].Key,
			Properties:         c.properties(records[i]),
			ObjectWriteTraceID: strconv.Itoa(j),
		}
	}
	var reply upsertReply
	err := c.call(ctx, http.MethodPost, upsertPath, map[string]any{"inputs": inputs}, &reply)
	// Only a 4xx other than 401, 403 and 429 comes back as a bare *Error (a 5xx is wrapped),
	// hence the type assertion rather than errors.As.
	if refused, ok := err.(*Error); ok {
		return c.refused(ctx, records, idx, refused, out)
	}
	if err != nil {
		return err
	}
	unsettled, unplaced := c.settle(records, idx, &reply, out)
	switch {
	case len(unsettled) == 0:
		return nil
	case len(unplaced) == 0:
		return fmt.Errorf("hubspot: batch upsert: the reply has no result for %d of its %d inputs", len(unsettled), len(idx))
	case len(unsettled) < len(idx):
		// A multi-status reply with errors it did not tie to inputs: send the inputs left
		// over again, which narrows the errors down.
		return c.write(ctx, records, unsettled, out)
	default:
		return c.isolate(ctx, records, idx, unplaced[0], out)
	}
}

// refused handles a batch HubSpot refused with a 4xx. 400 and 409 are about an input (an
// invalid value, an email another contact has) unless the id property itself is wrong; other
// statuses are about the call.
func (c *Client) refused(ctx context.Context, records []crm.Record, idx []int, refusal *Error, out []crm.Outcome) error {
	switch {
	case refusal.StatusCode != http.StatusBadRequest && refusal.StatusCode != http.StatusConflict:
		return fmt.Errorf("hubspot: batch upsert: HubSpot answered %d: %w", refusal.StatusCode, refusal)
	case refusal.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(refusal.Message), "non-unique"):
		// Every record would fail alike: a configuration error, not a record's.
		return fmt.Errorf("hubspot: batch upsert: the id property %q is not a unique contact property: %w", c.idProperty, refusal)
	}
	return c.isolate(ctx, records, idx, refusal, out)
}

// isolate finds which of the records at idx HubSpot refused by halving them until the
// refusal is a single record's.
func (c *Client) isolate(ctx context.Context, records []crm.Record, idx []int, refusal *Error, out []crm.Outcome) error {
	if len(idx) == 1 {
		return c.reject(ctx, records[idx[0]], refusal, &out[idx[0]])
	}
	half := len(idx) / 2
	if err := c.write(ctx, records, idx[:half], out); err != nil {
		return err
	}
	return c.write(ctx, records, idx[half:], out)
}

// reject settles a record HubSpot refused on its own: with AdoptExisting, a 409 naming the
// contact that has its email updates that contact instead; otherwise the refusal is the
// record's Outcome.Err.
func (c *Client) reject(ctx context.Context, r crm.Record, refusal *Error, out *crm.Outcome) error {
	if refusal.StatusCode == http.StatusConflict && c.adopt {
		if id, ok := existingID(refusal.Message); ok {
			return c.adoptContact(ctx, r, id, refusal, out)
		}
	}
	*out = crm.Outcome{Err: refusal}
	return nil
}

// settle fills the outcomes of the inputs the reply answers. Results are not in input order:
// each is placed by its id property value (HubSpot compares emails without case), or else by
// its objectWriteTraceId. It returns the indexes left without an outcome, and the errors it
// could not place.
func (c *Client) settle(records []crm.Record, idx []int, reply *upsertReply, out []crm.Outcome) ([]int, []*Error) {
	pos := make(map[string]int, len(idx))
	for j, i := range idx {
		pos[c.fold(records[i].Key)] = j
	}
	done := make([]bool, len(idx))
	place := func(value, trace string) (int, bool) {
		if j, ok := pos[c.fold(value)]; ok && value != "" {
			return j, true
		}
		if j, err := strconv.Atoi(trace); err == nil && j >= 0 && j < len(idx) && strconv.Itoa(j) == trace {
			return j, true
		}
		return 0, false
	}
	for _, r := range reply.Results {
		value := ""
		if v := r.Properties[c.idProperty]; v != nil {
			value = *v
		}
		j, ok := place(value, r.ObjectWriteTraceID)
		if !ok || done[j] || r.ID == "" {
			continue
		}
		done[j] = true
		out[idx[j]] = crm.Outcome{ExternalID: r.ID, Created: r.New}
	}
	var unplaced []*Error
	for _, e := range reply.Errors {
		refusal := &Error{StatusCode: http.StatusMultiStatus, Category: e.Category, Message: c.scrub(e.Message)}
		placed := false
		values, traces := e.refs()
		for _, v := range values {
			if j, ok := place(v, ""); ok && !done[j] {
				done[j], placed = true, true
				out[idx[j]] = crm.Outcome{Err: refusal}
			}
		}
		for _, t := range traces {
			if j, ok := place("", t); ok && !done[j] {
				done[j], placed = true, true
				out[idx[j]] = crm.Outcome{Err: refusal}
			}
		}
		if !placed {
			unplaced = append(unplaced, refusal)
		}
	}
	var unsettled []int
	for j, ok := range done {
		if !ok {
			unsettled = append(unsettled, idx[j])
		}
	}
	return unsettled, unplaced
}

// refs reads the inputs an error's context names: id property values under "ids" or "id",
// trace ids under "objectWriteTraceId". HubSpot's context values are lists of strings; a
// single string is taken too, anything else ignored.
func (e batchError) refs() (values, traces []string) {
	read := func(key string) []string {
		raw, ok := e.Context[key]
		if !ok {
			return nil
		}
		var list []string
		if json.Unmarshal(raw, &list) == nil {
			return list
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}
		}
		return nil
	}
	values = append(read("ids"), read("id")...)
	return values, read("objectWriteTraceId")
}
