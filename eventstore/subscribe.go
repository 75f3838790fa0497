package eventstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
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
	sub, err := wsql.NewSubscriber(s.db, wsql.SubscriberConfig{
		ConsumerGroup:  group,
		PollInterval:   cfg.PollInterval,
		ResendInterval: cfg.PollInterval,
		RetryInterval:  time.Second,
		AckDeadline:    &cfg.AckDeadline,
		SchemaAdapter:  s.schema,
		OffsetsAdapter: s.offsets,
	}, watermill.NewSlogLogger(s.log))
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
