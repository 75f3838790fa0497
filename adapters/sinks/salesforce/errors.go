package salesforce

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// RecordError is Salesforce's refusal of one record of a batch (Outcome.Err): its statusCode,
// such as DUPLICATES_DETECTED, REQUIRED_FIELD_MISSING, INVALID_EMAIL_ADDRESS or
// DUPLICATE_EXTERNAL_ID (the key matches several records), its message and the fields
// concerned. When Salesforce lists several errors, the first gives StatusCode and Fields and
// the others are appended to Message.
type RecordError struct {
	StatusCode string
	Message    string
	Fields     []string
}

// Error is Salesforce's own words: "DUPLICATES_DETECTED: Use one of these records?".
func (e *RecordError) Error() string {
	return e.StatusCode + ": " + e.Message
}

// APIError is a call Salesforce refused for another reason than a rate limit or the session:
// a malformed request (400 JSON_PARSER_ERROR, INVALID_FIELD for a field the org lacks), a
// missing permission (403), a wrong version or object (404), or its own failure (5xx).
type APIError struct {
	Status  int    // HTTP status
	Code    string // errorCode, empty when the body was not Salesforce's error array
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("salesforce: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("salesforce: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// throttled reads REQUEST_LIMIT_EXCEEDED. Salesforce uses the one code for the daily total
// ("TotalRequests Limit exceeded.") and the concurrency limits ("ConcurrentPerOrgLongTxn Limit
// exceeded", "ConcurrentRequests (Concurrent API Requests) Limit exceeded"); the limit's name
// leads the message, so it is the Policy. It sends no Retry-After. When the message names no
// limit, Sforce-Limit-Info's api-usage at or past its limit tells the daily one.
func throttled(msg string, h http.Header) *crm.Throttled {
	t := &crm.Throttled{Policy: "REQUEST_LIMIT_EXCEEDED", Message: msg}
	if before, _, ok := strings.Cut(msg, " Limit exceeded"); ok {
		if f := strings.Fields(before); len(f) > 0 {
			t.Policy = f[0]
		}
	}
	switch {
	case t.Policy == "TotalRequests":
		t.Daily = true
	case t.Policy == "REQUEST_LIMIT_EXCEEDED":
		if used, limit, ok := apiUsage(h); ok && used >= limit {
			t.Daily, t.Policy = true, "TotalRequests"
		}
	}
	return t
}

// apiUsage reads Sforce-Limit-Info: "api-usage=18/5000; per-app-api-usage=...".
func apiUsage(h http.Header) (used, limit int, ok bool) {
	for part := range strings.SplitSeq(h.Get("Sforce-Limit-Info"), ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "api-usage" {
			continue
		}
		u, l, found := strings.Cut(v, "/")
		var err1, err2 error
		used, err1 = strconv.Atoi(u)
		limit, err2 = strconv.Atoi(l)
		return used, limit, found && err1 == nil && err2 == nil && limit > 0
	}
	return 0, 0, false
}

// redactedError keeps a transport error's chain (context.Canceled, net.Error) for errors.Is
// and errors.As while its text goes through scrub.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) transportError(what string, err error) error {
	return &redactedError{text: "salesforce: " + what + ": " + c.scrub(err.Error()), err: err}
}

// scrub removes the client secret and every access token from a text that came from the
// network, in case a proxy or a misbehaving server echoes them.
func (c *Client) scrub(s string) string {
	c.mu.Lock()
	secrets := append([]string{c.cfg.Auth.ClientSecret, c.cfg.Auth.Token}, c.issued...)
	c.mu.Unlock()
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// snippet is the start of an unreadable reply, for the error text. It is scrubbed before it
// is cut, so no part of a secret survives the cut.
func (c *Client) snippet(body []byte) string {
	const limit = 200
	s := c.scrub(strings.TrimSpace(string(body)))
	if len(s) > limit {
		s = s[:limit]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
