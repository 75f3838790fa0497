package sinks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// operatorSendTimeout bounds a ping or a redelivery, as the delivery timeout bounds an attempt.
const operatorSendTimeout = 10 * time.Second

// EventTypePing is the type of a test delivery: never an event of the log.
const EventTypePing = "ledger.ping"

// SendResult is what one request an operator asked for came to.
type SendResult struct {
	WebhookID  string
	StatusCode int // 0 when no answer came
	Latency    time.Duration
	Error      string // "" when the receiver answered 2xx; redacted as the attempts' errors are
}

// pingBody is a test delivery: a small event of its own type, so a receiver can tell it apart.
type pingBody struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	SinkID uuid.UUID `json:"sink_id"`
	SentAt time.Time `json:"sent_at"`
	Data   struct{}  `json:"data"`
}

// Ping sends a webhook sink one signed test event now, and reports the receiver's answer. It
// is not an event of the log, and is recorded nowhere.
func (r *Registry) Ping(ctx context.Context, sinkID uuid.UUID) (SendResult, error) {
	s, err := r.Sink(ctx, sinkID)
	if err != nil {
		return SendResult{}, err
	}
	if s.Type != TypeWebhook {
		return SendResult{}, invalid("Invalid sink: a test delivery is for webhook sinks, not %s", s.Type)
	}
	id := "ping_" + uuid.Must(uuid.NewV7()).String()
	body, err := json.Marshal(pingBody{ID: id, Type: EventTypePing, SinkID: s.ID, SentAt: time.Now().UTC()})
	if err != nil {
		return SendResult{}, fmt.Errorf("encode ping: %w", err)
	}
	return r.sendNow(ctx, s, id, body), nil
}

// sendNow makes one request to a webhook sink and times it.
func (r *Registry) sendNow(ctx context.Context, s Sink, id string, body []byte) SendResult {
	start := time.Now()
	res := r.hook.send(ctx, s, id, body, nil)
	out := SendResult{WebhookID: id, StatusCode: res.statusCode, Latency: time.Since(start)}
	if res.err != nil {
		out.Error = res.err.Error()
	}
	return out
}
