package sinks

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
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// result is what one delivery attempt came to.
type result struct {
	statusCode int           // 0 when no answer came
	err        error         // nil: acknowledged
	retryAfter time.Duration // the receiver's Retry-After, if any
	gone       bool          // 410: the receiver wants no more
	synced     []synced      // CRM records written, for the identity map
	rejected   []Failure     // CRM records rejected: dead letters, not retried
	parkUntil  time.Time     // a CRM's daily limit: nothing is sent before then
	forgotten  []uuid.UUID   // leads erased: the identity map forgets them (see erasure.go)
}

// webhookBody is what a webhook sink receives for each event (CONTRACT.md).
type webhookBody struct {
	ID         uuid.UUID        `json:"id"`
	Type       domain.EventType `json:"type"`
	Position   int64            `json:"position"`
	LeadID     uuid.UUID        `json:"lead_id"`
	Source     string           `json:"source"`
	Vendor     string           `json:"vendor"`
	OccurredAt string           `json:"occurred_at"`
	ReceivedAt time.Time        `json:"received_at"`
	Data       json.RawMessage  `json:"data"`
	// Erased says the lead's personal data was erased after the event was stored: data is
	// empty, and the receiver should erase its own copy (a LeadErased event says so as it
	// happens). Left out of every other event, whose body is as it always was.
	Erased bool `json:"erased,omitempty"`
}

func newWebhookBody(e eventstore.Envelope) webhookBody {
	return webhookBody{ID: e.ID, Type: e.Type, Position: e.Position, LeadID: e.LeadID, Source: e.Source,
		Vendor: e.Vendor, OccurredAt: e.OccurredAt, ReceivedAt: e.ReceivedAt, Data: e.Data, Erased: e.Erased}
}

// webhook POSTs events signed as Standard Webhooks: webhook-id is the event id, the same on
// every retry and replay, so the receiver can deduplicate.
type webhook struct {
	client *http.Client
	now    func() time.Time
}

// HeaderReplay marks a delivery made by a replay, so a receiver can tell history re-sent from
// live events. Live deliveries do not carry it.
const HeaderReplay = "webhook-replay"

// newWebhookClient never follows a redirect: it would be followed as a GET without the body,
// and its 2xx taken for an acknowledgement; a 3xx is an answer like any other non-2xx.
func newWebhookClient(timeout time.Duration, transport http.RoundTripper) *http.Client {
	return &http.Client{Timeout: timeout, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// deliver sends one event of the log; replay marks it as re-sent by a replay.
func (w webhook) deliver(ctx context.Context, s Sink, e eventstore.Envelope, replay bool) result {
	body, err := json.Marshal(newWebhookBody(e))
	if err != nil {
		return result{err: fmt.Errorf("encode event %s: %w", e.ID, err)}
	}
	var extra http.Header
	if replay {
		extra = http.Header{HeaderReplay: {"true"}}
	}
	return w.send(ctx, s, e.ID.String(), body, extra)
}

// send POSTs a signed body to the sink's URL, with webhook-id id and any extra headers.
func (w webhook) send(ctx context.Context, s Sink, id string, body []byte, extra http.Header) result {
	now := w.now()
	signature, err := s.signature(id, now, body)
	if err != nil {
		return result{err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return result{err: errors.New("the sink's url cannot be requested")}
	}
	req.Header = extra.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set(standardwebhooks.HeaderID, id)
	req.Header.Set(standardwebhooks.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderSignature, signature)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadledger")
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{err: ctx.Err()} // abandoned by a stopping stream, not failed
		}
		return result{err: transportError(err)}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, answerRead))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return result{statusCode: code}
	case code == http.StatusGone:
		return result{statusCode: code, gone: true, err: errors.New("receiver answered 410 Gone: sink disabled")}
	default:
		return result{statusCode: code, err: fmt.Errorf("receiver answered %d: %s", code, s.quote(answer)),
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), w.now())}
	}
}

// transportError describes a failed request without its URL, which may carry credentials.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("no answer within the delivery timeout")
		}
		err = ue.Err
	}
	return fmt.Errorf("request failed: %v", err)
}

// How much of a receiver's answer is read, and how much of it is kept in last_error: more is
// read than kept, so that a credential the answer echoes is redacted whole, never cut in two.
const answerRead, answerKept = 1024, 200

// quote is the start of a receiver's answer as kept in last_error: readable, and without the
// credentials of the sink's URL.
func (s Sink) quote(answer []byte) string {
	text := s.redact(printable(answer))
	if len(text) > answerKept {
		cut := answerKept
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return text
}

// printable keeps a receiver's answer readable on one line.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) || s == "" {
		return "(no body)"
	}
	return s
}
