package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// maxReply bounds a reply read into memory: 200 UpsertResults take a few tens of KiB.
const maxReply = 4 << 20

// notProvided fills a required Lead field the record has no value for.
const notProvided = "[not provided]"

// Upsert writes records with one sObject Collections upsert (allOrNone false) and returns an
// Outcome per record, at the same index. A record Salesforce refuses has Outcome.Err, a
// *RecordError; the others are written regardless. The error is for the call as a whole:
// *crm.Throttled, crm.ErrUnauthorized wrapped, or another (network, 5xx, a refused or
// unreadable request), and then no outcome is known.
func (c *Client) Upsert(ctx context.Context, records []crm.Record) ([]crm.Outcome, error) {
	if len(records) == 0 {
		return nil, nil
	}
	if len(records) > maxBatch {
		return nil, fmt.Errorf("salesforce: %d records in one upsert, at most %d", len(records), maxBatch)
	}
	body, err := json.Marshal(c.collection(records))
	if err != nil {
		return nil, fmt.Errorf("salesforce: encoding the upsert: %w", err)
	}
	sess, err := c.session(ctx, "")
	if err != nil {
		return nil, err
	}
	reply, err := c.send(ctx, sess, body)
	if err != nil {
		return nil, err
	}
	if reply.status == http.StatusUnauthorized && c.cfg.Auth.Type == AuthClientCredentials {
		// The session expired or was revoked: a fresh token, and the call once more.
		if sess, err = c.session(ctx, sess.token); err != nil {
			return nil, err
		}
		if reply, err = c.send(ctx, sess, body); err != nil {
			return nil, err
		}
	}
	if reply.status != http.StatusOK {
		return nil, c.callError(reply)
	}
	return c.outcomes(reply, len(records))
}

// collection is the request body: {"allOrNone":false,"records":[{"attributes":{"type":...},
// ExternalIDField: key, fields...}]}.
func (c *Client) collection(records []crm.Record) map[string]any {
	out := make([]map[string]any, len(records))
	isLead := strings.EqualFold(c.cfg.Object, "Lead")
	for i, r := range records {
		rec := make(map[string]any, len(r.Fields)+4)
		for k, v := range r.Fields {
			// An empty value would blank the field in Salesforce; the ledger never does that.
			if v != "" && k != "attributes" {
				rec[k] = v
			}
		}
		rec[c.cfg.ExternalIDField] = r.Key
		rec["attributes"] = map[string]string{"type": c.cfg.Object}
		if isLead {
			fillRequired(rec, r)
		}
		out[i] = rec
	}
	return map[string]any{"allOrNone": false, "records": out}
}

// fillRequired gives a Lead the LastName and Company Salesforce requires when the record has
// none: Company is the email's domain, else "[not provided]", like LastName. An upsert cannot
// tell a create from an update, so these go on every write of such a record; a value typed
// into Salesforce by hand is overwritten unless the mapping supplies the field.
func fillRequired(rec map[string]any, r crm.Record) {
	if _, ok := rec["LastName"]; !ok {
		rec["LastName"] = notProvided
	}
	if _, ok := rec["Company"]; ok {
		return
	}
	company := notProvided
	if d := emailDomain(r.Fields["Email"]); d != "" {
		company = d
	} else if d := emailDomain(r.Key); d != "" {
		company = d
	}
	rec["Company"] = company
}

// emailDomain returns the lower-cased domain of something that looks like an email, else "".
func emailDomain(s string) string {
	local, domain, ok := strings.Cut(strings.TrimSpace(s), "@")
	if !ok || local == "" || strings.ContainsAny(domain, "@ ") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return ""
	}
	return strings.ToLower(domain)
}

// reply is a data call's answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send makes the upsert request once.
func (c *Client) send(ctx context.Context, sess session, body []byte) (reply, error) {
	u := sess.instance + "/services/data/" + c.cfg.APIVersion + "/composite/sobjects/" + c.cfg.Object + "/" + c.cfg.ExternalIDField
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u, bytes.NewReader(body))
	if err != nil {
		return reply{}, fmt.Errorf("salesforce: upsert request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+sess.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, c.transportError("upsert", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return reply{}, c.transportError("reading the upsert reply", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// upsertResult is one UpsertResult of the reply.
type upsertResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created bool   `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

// outcomes reads the 200 reply: one UpsertResult per record, in the request's order.
func (c *Client) outcomes(rep reply, n int) ([]crm.Outcome, error) {
	var results []upsertResult
	if err := json.Unmarshal(rep.body, &results); err != nil {
		return nil, fmt.Errorf("salesforce: upsert reply unreadable: %s", c.snippet(rep.body))
	}
	if len(results) != n {
		return nil, fmt.Errorf("salesforce: upsert reply has %d results for %d records", len(results), n)
	}
	out := make([]crm.Outcome, n)
	for i, r := range results {
		if r.Success {
			out[i] = crm.Outcome{ExternalID: r.ID, Created: r.Created}
			continue
		}
		rerr := &RecordError{StatusCode: "UNKNOWN_EXCEPTION", Message: "the record failed and Salesforce gave no reason"}
		var more []string
		for j, e := range r.Errors {
			if j == 0 {
				rerr = &RecordError{StatusCode: e.StatusCode, Message: c.scrub(e.Message), Fields: e.Fields}
				continue
			}
			more = append(more, e.StatusCode+": "+c.scrub(e.Message))
		}
		if len(more) > 0 {
			rerr.Message += "; " + strings.Join(more, "; ")
		}
		out[i] = crm.Outcome{Err: rerr}
	}
	return out, nil
}

// callError turns a refused call into the error package crm defines for it.
func (c *Client) callError(rep reply) error {
	code, msg := c.errorBody(rep.body)
	switch {
	case code == "REQUEST_LIMIT_EXCEEDED":
		return throttled(msg, rep.header)
	case rep.status == http.StatusUnauthorized:
		// Bearer at once; client credentials only after the refresh did not help.
		if code == "" {
			code = "HTTP 401"
		}
		return fmt.Errorf("salesforce: %s: %s: %w", code, msg, crm.ErrUnauthorized)
	}
	return &APIError{Status: rep.status, Code: code, Message: msg}
}

// errorBody reads a REST error reply, [{"message","errorCode"}], scrubbed of secrets.
func (c *Client) errorBody(body []byte) (code, message string) {
	var errs []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	if err := json.Unmarshal(body, &errs); err != nil || len(errs) == 0 {
		return "", c.snippet(body)
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	return errs[0].ErrorCode, c.scrub(strings.Join(msgs, "; "))
}
