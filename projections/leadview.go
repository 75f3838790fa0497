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

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// LeadView keeps the current view of every lead, folded from the log by domain.Apply. A batch
// of events is folded in memory, written in a few statements, and committed with the group's
// checkpoint in the subscriber's transaction, so each event changes the view exactly once.
type LeadView struct {
	store   *eventstore.Store
	db      *sql.DB // for queries; writes go through the subscriber's transaction
	dialect string
	log     *slog.Logger
	failed  atomic.Int64
	cache   leadCache
	batch   []effect       // folded, not yet written: see flush
	retries map[string]int // failed folds of the message being re-sent, by message id
}

// NewLeadView creates the view's tables if needed.
func NewLeadView(ctx context.Context, store *eventstore.Store, log *slog.Logger) (*LeadView, error) {
	if store == nil || log == nil {
		return nil, errors.New("lead view: store and logger are required")
	}
	if err := MigrateLeadView(ctx, store.DB()); err != nil {
		return nil, err
	}
	return &LeadView{store: store, db: store.ReadDB(), dialect: store.Dialect(), log: log, retries: map[string]int{}}, nil
}

// Failed counts the events this process recorded as failed to apply.
func (v *LeadView) Failed() int64 { return v.failed.Load() }

// Run folds the log into the view until ctx is done.
func (v *LeadView) Run(ctx context.Context) error {
	sub, err := v.store.Subscribe(ctx, LeadViewGroup, eventstore.SubscribeConfig{
		PollInterval: 50 * time.Millisecond,
		BeforeAck:    v.flush,
	})
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
			if err := v.fold(msg); err != nil {
				if v.retries[msg.UUID]++; v.retries[msg.UUID] < foldAttempts {
					v.log.Error("lead view: event not handled, will be delivered again", "event", msg.UUID, "err", err)
					msg.Nack()
					continue
				}
				// It failed every time: record it in its lead's history and move on.
				v.log.Error("lead view: event recorded as failed to fold", "event", msg.UUID, "err", err)
				v.batch = append(v.batch, failedEffect(msg, err))
			}
			delete(v.retries, msg.UUID)
			msg.Ack()
		}
	}
}

// fold applies one event to the cached leads and keeps the result for flush, which writes the
// whole batch just before the subscriber commits it with the group's checkpoint.
func (v *LeadView) fold(msg *message.Message) error {
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
		v.log.Error("lead view: undecodable event recorded as failed", "event", msg.UUID, "err", err)
		v.batch = append(v.batch, failedEffect(msg, err))
		return nil
	}
	lead, cached := v.cache.leads[e.LeadID]
	if !cached {
		if lead, err = v.load(ctx, tx, e.LeadID.String()); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
	}
	lead, outcome := domain.Apply(lead, e)
	v.cache.leads[e.LeadID], v.cache.applied = lead, e.Position
	v.batch = append(v.batch, effect{position: e.Position, leadID: e.LeadID.String(), event: e, lead: lead, outcome: outcome})
	return nil
}

// failedEffect records that an event could not be folded.
func failedEffect(msg *message.Message, err error) effect {
	position, _ := strconv.ParseInt(msg.Metadata.Get(eventstore.MetaPosition), 10, 64)
	return effect{position: position, leadID: msg.Metadata.Get(eventstore.MetaLeadID), failure: err}
}

func (v *LeadView) q(query string) string { return v.store.Rebind(query) }
