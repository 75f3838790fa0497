package eventstore

import (
	"context"
	"fmt"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Subscription delivers the log to one consumer group through watermill-sql's subscriber.
// Each message must be acked (or nacked) before the next arrives; acks commit with the
// subscriber's transaction, which the handler may join through wsql.TxFromContext(msg.Context()).
type Subscription struct {
	sub      *wsql.Subscriber
	Messages <-chan *message.Message
}

// SubscribeConfig tunes a subscription.
type SubscribeConfig struct {
	// PollInterval is how long an idle subscriber waits before it looks again. Defaults to 100ms.
	PollInterval time.Duration
	// AckDeadline bounds one message's handling; past it the message is re-sent. Defaults to 30s.
	AckDeadline time.Duration
	// BeforeAck, if set, runs in the subscriber's transaction once a batch's messages are
	// acked, just before the group's checkpoint is written: the place to flush work batched
	// across messages. position is the last acked message's. An error rolls the batch back,
	// and its messages are delivered again.
	BeforeAck func(position int64) error
}

// Subscribe starts reading the log as the named consumer group, from where the group last
// acked (the beginning for a new group). One process at a time advances a group.
// Consumer-group names are stored: pass constants, never names derived from Go types.
func (s *Store) Subscribe(ctx context.Context, group string, cfg SubscribeConfig) (*Subscription, error) {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.AckDeadline == 0 {
		cfg.AckDeadline = 30 * time.Second
	}
	offsets := s.offsets
	if cfg.BeforeAck != nil {
		offsets = hookedOffsets{OffsetsAdapter: s.offsets, beforeAck: cfg.BeforeAck}
	}
	sub, err := wsql.NewSubscriber(s.db, wsql.SubscriberConfig{
		ConsumerGroup:  group,
		PollInterval:   cfg.PollInterval,
		ResendInterval: cfg.PollInterval,
		RetryInterval:  time.Second,
		AckDeadline:    &cfg.AckDeadline,
		SchemaAdapter:  s.schema,
		OffsetsAdapter: offsets,
	}, newSubscriberLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("subscriber %s: %w", group, err)
	}
	msgs, err := sub.Subscribe(ctx, Topic)
	if err != nil {
		_ = sub.Close()
		return nil, fmt.Errorf("subscribe %s: %w", group, err)
	}
	return &Subscription{sub: sub, Messages: msgs}, nil
}

// Close stops the subscription; messages not acked are delivered again to the group later.
func (s *Subscription) Close() error {
	if err := s.sub.Close(); err != nil {
		return fmt.Errorf("close subscription: %w", err)
	}
	return nil
}

// SchemaAdapter and OffsetsAdapter expose the adapters, so any watermill-sql subscriber or
// publisher can be pointed at the log.
func (s *Store) SchemaAdapter() wsql.SchemaAdapter   { return s.schema }
func (s *Store) OffsetsAdapter() wsql.OffsetsAdapter { return s.offsets }

// hookedOffsets runs a hook where watermill-sql asks for the ack query: the one moment, inside
// the batch's transaction, after the last ack and before the commit. watermill-sql has no error
// path there, so a failed hook answers with a query that cannot run, and watermill rolls back.
type hookedOffsets struct {
	wsql.OffsetsAdapter
	beforeAck func(position int64) error
}

// rolledBackByHook names no table: selecting from it fails, and that failure rolls the batch back.
const rolledBackByHook = `"before-ack hook failed: batch rolled back (see the log)"`

func (h hookedOffsets) AckMessageQuery(topic string, row wsql.Row, group string) wsql.Query {
	if err := h.beforeAck(row.Offset); err != nil {
		return wsql.Query{Query: `SELECT * FROM ` + rolledBackByHook}
	}
	return h.OffsetsAdapter.AckMessageQuery(topic, row, group)
}
