package projections

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/leadledger/leadledger/eventstore"
)

// applyAttempts bounds the retries of one event before it is recorded as failed and skipped:
// one bad event must never stall the view.
const applyAttempts = 3

// LeadView keeps the current view of every lead, folded from the log by domain.Apply. Each
// event's effect and the group's checkpoint commit in one transaction (the subscriber's), so
// an event changes the view exactly once.
type LeadView struct {
	store   *eventstore.Store
	db      *sql.DB // for queries; writes go through the subscriber's transaction
	dialect string
	log     *slog.Logger
	failed  atomic.Int64
	cache   leadCache
}

// NewLeadView creates the view's tables if needed.
func NewLeadView(ctx context.Context, store *eventstore.Store, log *slog.Logger) (*LeadView, error) {
	if store == nil || log == nil {
		return nil, errors.New("lead view: store and logger are required")
	}
	if err := MigrateLeadView(ctx, store.DB()); err != nil {
		return nil, err
	}
	return &LeadView{store: store, db: store.ReadDB(), dialect: store.Dialect(), log: log}, nil
}

// Failed counts the events this process recorded as failed to apply.
func (v *LeadView) Failed() int64 { return v.failed.Load() }

// Run folds the log into the view until ctx is done.
func (v *LeadView) Run(ctx context.Context) error {
	sub, err := v.store.Subscribe(ctx, LeadViewGroup, eventstore.SubscribeConfig{PollInterval: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-sub.Messages:
			if !ok {
				return nil
			}
			if err := v.handle(msg); err != nil {
				v.log.Error("lead view: event not handled, will be delivered again", "event", msg.UUID, "err", err)
				msg.Nack()
				continue
			}
			msg.Ack()
		}
	}
}

// handle applies one event inside the subscriber's transaction, each attempt in a savepoint
// (a failed statement must not abort the batch, and a nack would not undo writes). After
// applyAttempts failures the event is recorded as failed and the view moves on.
func (v *LeadView) handle(msg *message.Message) error {
	tx, ok := wsql.TxFromContext(msg.Context())
	if !ok {
		return errors.New("no subscriber transaction in the message context")
	}
	ctx := msg.Context()
	if err := v.cache.join(ctx, tx, v); err != nil {
		return err
	}
	e, err := eventstore.DecodeMessage(msg)
	if err != nil {
		// Retrying cannot help an event that does not decode: record it and move on.
		v.failed.Add(1)
		v.log.Error("lead view: undecodable event recorded as failed", "event", msg.UUID, "err", err)
		position, _ := strconv.ParseInt(msg.Metadata.Get(eventstore.MetaPosition), 10, 64)
		return v.recordFailure(ctx, tx, position, msg.Metadata.Get(eventstore.MetaLeadID), err)
	}
	for attempt := 1; attempt <= applyAttempts; attempt++ {
		if err = v.apply(ctx, tx, e); err == nil {
			return nil
		}
		v.log.Warn("lead view: apply failed", "position", e.Position, "attempt", attempt, "err", err)
	}
	v.failed.Add(1)
	v.log.Error("lead view: event recorded as failed to apply", "position", e.Position, "lead", e.LeadID, "err", err)
	return v.recordFailure(ctx, tx, e.Position, e.LeadID.String(), err)
}

func (v *LeadView) q(query string) string { return rebind(v.dialect, query) }
