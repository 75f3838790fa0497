package pipedrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// maxReply bounds how much of a reply is read: a page of 100 leads is far below it.
const maxReply = 4 << 20

// envelope is every Pipedrive reply: success, data and additional_data, or error and
// error_info.
type envelope struct {
	Success        bool            `json:"success"`
	Data           json.RawMessage `json:"data"`
	AdditionalData json.RawMessage `json:"additional_data"`
	Error          string          `json:"error"`
	ErrorInfo      string          `json:"error_info"`
}

// apiError is a reply other than a 2xx (and 429, which is a *crm.Throttled). Its route is the
// method and path, never the query, which may hold an email.
type apiError struct {
	route   string
	status  int
	message string // Pipedrive's own error text
}

func (e *apiError) Error() string {
	return fmt.Sprintf("pipedrive %s: %d %s", e.route, e.status, e.message)
}

// statusOf returns the HTTP status of a reply error, or 0 for any other error.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

// rejected reports whether Pipedrive refused what a record asked (an invalid field: 400, 422),
// which fails that record alone.
func rejected(err error) (message string, ok bool) {
	var ae *apiError
	if errors.As(err, &ae) && (ae.status == http.StatusBadRequest || ae.status == http.StatusUnprocessableEntity) {
		return ae.message, true
	}
	return "", false
}

// refused reports whether err is a reply: the request reached Pipedrive and was not carried
// out. Any other error (a timeout, a dropped connection) leaves unknown whether it was.
func refused(err error) bool {
	var ae *apiError
	var th *crm.Throttled
	return errors.As(err, &ae) || errors.As(err, &th)
}

// call sends one request and returns the reply's envelope when it is a success. body, when not
// nil, is sent as JSON.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body any) (envelope, error) {
	route := method + " " + path
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var payload io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return envelope{}, fmt.Errorf("pipedrive %s: encode the body: %w", route, err)
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, payload)
	if err != nil {
		return envelope{}, fmt.Errorf("pipedrive %s: the request cannot be built", route)
	}
	req.Header.Set("X-Api-Token", c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "leadledger")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error names the URL, query and all; only its cause is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return envelope{}, fmt.Errorf("pipedrive %s: %w", route, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return envelope{}, fmt.Errorf("pipedrive %s: read the reply: %w", route, err)
	}
	var env envelope
	decodeErr := json.Unmarshal(raw, &env)
	message := c.scrub(env.Error)
	if message == "" {
		message = strings.ToLower(http.StatusText(resp.StatusCode))
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if decodeErr != nil || !env.Success {
			return envelope{}, fmt.Errorf("pipedrive %s: %d reply without success: %s", route, code, message)
		}
		return env, nil
	case code == http.StatusTooManyRequests:
		return envelope{}, throttled(resp.Header, message)
	case code == http.StatusUnauthorized:
		return envelope{}, fmt.Errorf("%w: %w", &apiError{route, code, message}, crm.ErrUnauthorized)
	default:
		// 403 (a plan limit, or Cloudflare's block of a client that ignored 429s), 402 (the
		// account is not open), 5xx: call-level, as is everything but 400/404/422.
		return envelope{}, &apiError{route, code, message}
	}
}

// throttled reads a 429. Pipedrive's docs say only that the spent daily budget and the burst
// limit both answer 429; clients in the field tell them apart by the
// x-daily-ratelimit-token-remaining header, at 0 once the budget is spent. An error text naming
// the daily limit counts too, in case the header is missing, which Pipedrive staff said happens.
func throttled(h http.Header, message string) *crm.Throttled {
	t := &crm.Throttled{Policy: "burst", Message: message}
	if h.Get("X-Daily-Ratelimit-Token-Remaining") == "0" || strings.Contains(strings.ToLower(message), "daily") {
		t.Daily, t.Policy = true, "daily token budget"
	}
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
		t.RetryAfter = time.Duration(secs) * time.Second
	}
	return t
}

// scrub removes the token from a text taken from a reply, should Pipedrive ever echo it.
func (c *Client) scrub(s string) string {
	return strings.ReplaceAll(s, c.token, "[token]")
}

// decode reads a reply's data (or additional_data) into v.
func decode(route string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("pipedrive %s: read the reply: %w", route, err)
	}
	return nil
}
