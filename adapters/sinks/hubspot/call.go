package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// maxReply bounds a reply body; 100 contacts with their properties are far below it.
const maxReply = 8 << 20

// Error is a refusal as HubSpot described it. It is an Outcome.Err for a record HubSpot
// rejected, and is wrapped in the call-level errors for 5xx and unexpected 4xx replies.
type Error struct {
	// StatusCode is the HTTP status (400, 409, ...).
	StatusCode int
	// Category is HubSpot's category (VALIDATION_ERROR, CONFLICT, ...), when it sent one.
	Category string
	// Message is HubSpot's own message.
	Message string
	// CorrelationID identifies the request to HubSpot's support.
	CorrelationID string
}

// Error is HubSpot's message, or the status when it sent none.
func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("HubSpot answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// errorReply is HubSpot's error body. HubSpot says to treat every field as optional; a 429
// has errorType and policyName where others have category.
type errorReply struct {
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	Category      string `json:"category"`
	ErrorType     string `json:"errorType"`
	PolicyName    string `json:"policyName"`
}

// call sends one request with the token and decodes a 2xx reply into out (unless nil). Any
// other reply is an error: *crm.Throttled for 429; one wrapping crm.ErrUnauthorized for 401
// and 403; a bare *Error for any other 4xx, which the caller judges (record-level or not);
// and a wrapped *Error for 5xx. A network failure or an unreadable reply is a plain error.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("hubspot: %s %s: encoding the request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("hubspot: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The token travels in a header only, so the *url.Error does not carry it.
		return fmt.Errorf("hubspot: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return fmt.Errorf("hubspot: %s %s: reading the %d reply: %w", method, path, resp.StatusCode, err)
	}
	if len(raw) > maxReply {
		return fmt.Errorf("hubspot: %s %s: the %d reply is over %d bytes", method, path, resp.StatusCode, maxReply)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("hubspot: %s %s: unreadable %d reply: %w", method, path, resp.StatusCode, err)
		}
		return nil
	}
	return c.refusal(method, path, resp, raw)
}

// refusal turns a non-2xx reply into the error call returns.
func (c *Client) refusal(method, path string, resp *http.Response, raw []byte) error {
	var r errorReply
	// A body that is not HubSpot's JSON (a proxy's page) leaves r empty; the status decides.
	_ = json.Unmarshal(raw, &r)
	e := &Error{
		StatusCode:    resp.StatusCode,
		Category:      r.Category,
		Message:       c.scrub(r.Message),
		CorrelationID: r.CorrelationID,
	}
	switch status := resp.StatusCode; {
	case status == http.StatusTooManyRequests:
		return &crm.Throttled{
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Daily:      strings.EqualFold(r.PolicyName, "DAILY"),
			Policy:     r.PolicyName,
			Message:    e.Error(),
		}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("hubspot: %s %s: %w: %w", method, path, crm.ErrUnauthorized, e)
	case status >= 500:
		return fmt.Errorf("hubspot: %s %s: HubSpot answered %d: %w", method, path, status, e)
	case status >= 400:
		return e
	default: // 1xx, 3xx: not an answer HubSpot gives
		return fmt.Errorf("hubspot: %s %s: unexpected %d reply: %w", method, path, status, e)
	}
}

// scrub keeps the token out of a text taken from a reply, should a proxy ever echo it.
func (c *Client) scrub(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token]")
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 when absent or unreadable.
// HubSpot documents no Retry-After on its 429s, but a proxy in front of it may send one.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
