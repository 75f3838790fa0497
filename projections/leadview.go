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

// LeadView keeps the current view of every lead, folded from the log by domain.Apply. A batch
// of events is folded in memory, written in a few statements, and committed with the group's
// checkpoint in the subscriber's transaction, so each event changes the view exactly once.
type LeadView struct {
	store   *eventstore.Store
	db      *sql.DB // for queries; writes go through the subscriber's transaction
	dialect string
	log     *slog.Logger
	failed  atomic.Int64
	chunks  atomic.Int64 // catch-up chunks folded
	cache   leadCache
	batch   []effect       // collected, not yet folded and written: see flush
	batchTx *sql.Tx        // the subscriber transaction batch belongs to
	retries map[string]int // failed folds of the message being re-sent, by message id
	// unavailable is set when the database failed the batch under way: it is not written.
	unavailable error
	// followUntil is where a failed catch-up chunk ended: up to it, the view follows the log
	// batch by batch, which isolates an event that cannot be written.
	followUntil int64
}

// NewLeadView creates the view's tables if needed.
func NewLeadView(ctx context.Context, store *eventstore.Store, log *slog.Logger) (*LeadView, error) {
	if store == nil || log == nil {
		return nil, errors.New("lead view: store and logger are required")
	}
	if err := MigrateLeadView(ctx, store); err != nil {
		return nil, err
	}
	return &LeadView{store: store, db: store.ReadDB(), dialect: store.Dialect(), log: log, retries: map[string]int{}}, nil
}

// Failed counts the events this process recorded as failed to apply.
func (v *LeadView) Failed() int64 { return v.failed.Load() }

// CatchUpChunks counts the chunks this process folded while far behind the log (see catchUp).
func (v *LeadView) CatchUpChunks() int64 { return v.chunks.Load() }

// follow folds the log as the group's subscriber delivers it, until ctx is done or, at the
// start of a batch, the view is found far behind.
func (v *LeadView) follow(ctx context.Context) error {
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
			if tx, _ := wsql.TxFromContext(msg.Context()); tx != v.batchTx && v.farBehind(ctx) {
				return nil // unacked: the subscriber's transaction ends without a checkpoint
			}
			if err := v.fold(msg); err != nil {
				if eventstore.IsUnavailable(err) {
					// The database's fault, not the event's: the batch fails at its checkpoint
					// (see flush) and is delivered again, rather than re-sent in a dead transaction.
					v.unavailable = err
					msg.Ack()
					continue
				}
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

// fold decodes one event and keeps it for flush, which folds and writes the whole batch just
// before the subscriber commits it with the group's checkpoint: the batch's leads are then
// loaded in one query rather than one round trip per lead.
func (v *LeadView) fold(msg *message.Message) error {
	tx, ok := wsql.TxFromContext(msg.Context())
	if !ok {
		return errors.New("no subscriber transaction in the message context")
	}
	if tx != v.batchTx {
		if len(v.batch) > 0 || v.unavailable != nil {
			// The previous transaction ended without our flush (rolled back, or nothing
			// acked): what was collected in it never reached the database.
			v.cache.forget()
		}
		v.batch, v.batchTx, v.unavailable = nil, tx, nil
	}
	if err := v.cache.join(msg.Context(), tx, v); err != nil {
		return err
	}
	e, err := eventstore.DecodeMessage(msg)
	if err != nil {
		// Retrying cannot help an event that does not decode: record it and move on.
		v.log.Error("lead view: undecodable event recorded as failed", "event", msg.UUID, "err", err)
		v.batch = append(v.batch, failedEffect(msg, err))
		return nil
	}
	v.batch = append(v.batch, effect{position: e.Position, leadID: e.LeadID.String(), event: e})
	return nil
}

// failedEffect records that an event could not be folded.
func failedEffect(msg *message.Message, err error) effect {
	position, _ := strconv.ParseInt(msg.Metadata.Get(eventstore.MetaPosition), 10, 64)
	return effect{position: position, leadID: msg.Metadata.Get(eventstore.MetaLeadID), failure: err}
}

func (v *LeadView) q(query string) string { return v.store.Rebind(query) }
