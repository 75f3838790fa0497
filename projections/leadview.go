package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/leadledger/leadledger/domain"
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
// (a failed statement must not abort the batch, and a nack would not undo writes).
func (v *LeadView) handle(msg *message.Message) error {
	tx, ok := wsql.TxFromContext(msg.Context())
	if !ok {
		return errors.New("no subscriber transaction in the message context")
	}
	ctx := msg.Context()
	e, err := eventstore.DecodeMessage(msg)
	if err != nil {
		// Retrying cannot help an event that does not decode: record it and move on.
		v.failed.Add(1)
		v.log.Error("lead view: undecodable event recorded as failed", "event", msg.UUID, "err", err)
		position, _ := strconv.ParseInt(msg.Metadata.Get(eventstore.MetaPosition), 10, 64)
		return v.recordFailure(ctx, tx, position, msg.Metadata.Get(eventstore.MetaLeadID), err)
	}
	for attempt := 1; attempt <= applyAttempts; attempt++ {
		if err = v.inSavepoint(ctx, tx, func() error { return v.apply(ctx, tx, e) }); err == nil {
			return nil
		}
		v.log.Warn("lead view: apply failed", "position", e.Position, "attempt", attempt, "err", err)
	}
	v.failed.Add(1)
	v.log.Error("lead view: event recorded as failed to apply", "position", e.Position, "lead", e.LeadID, "err", err)
	return v.recordFailure(ctx, tx, e.Position, e.LeadID.String(), err)
}

// recordFailure notes that an event could not be applied, so the history shows it.
func (v *LeadView) recordFailure(ctx context.Context, tx *sql.Tx, position int64, leadID string, cause error) error {
	if position == 0 {
		return nil // not even its position is readable: the log line is all there is
	}
	return v.inSavepoint(ctx, tx, func() error {
		_, err := tx.ExecContext(ctx, v.q(`INSERT INTO lead_view_events (position, lead_id, applied, error)
			VALUES (?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`), position, leadID, false, cause.Error())
		return err
	})
}

func (v *LeadView) inSavepoint(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT lead_view"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT lead_view"); rbErr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rbErr))
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT lead_view"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// apply folds one event into its lead and records the outcome. An event already recorded
// (delivered again after a crash) changes nothing.
func (v *LeadView) apply(ctx context.Context, tx *sql.Tx, e domain.Event) error {
	var one int
	err := tx.QueryRowContext(ctx, v.q(`SELECT 1 FROM lead_view_events WHERE position = ?`), e.Position).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("look up event %d: %w", e.Position, err)
	}
	lead, err := v.load(ctx, tx, e.LeadID.String())
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	lead, outcome := domain.Apply(lead, e)
	if err := v.save(ctx, tx, lead); err != nil {
		return err
	}
	var reason any
	if outcome.SkipReason != domain.SkipNone {
		reason = string(outcome.SkipReason)
	}
	if _, err := tx.ExecContext(ctx, v.q(`INSERT INTO lead_view_events (position, lead_id, applied, skip_reason)
		VALUES (?, ?, ?, ?)`), e.Position, e.LeadID.String(), outcome.Applied, reason); err != nil {
		return fmt.Errorf("record outcome of event %d: %w", e.Position, err)
	}
	return nil
}

func (v *LeadView) save(ctx context.Context, tx *sql.Tx, l domain.Lead) error {
	state, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode lead %s: %w", l.ID, err)
	}
	search := strings.ToLower(strings.Join([]string{l.FirstName, l.LastName, l.Name, l.Email, l.Phone, l.Company}, "\n"))
	_, err = tx.ExecContext(ctx, v.q(`INSERT INTO lead_view (id, source, email_normalized, search, last_position, state)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET source = excluded.source, email_normalized = excluded.email_normalized,
			search = excluded.search, last_position = excluded.last_position, state = excluded.state`),
		l.ID.String(), l.Source, l.EmailNormalized, search, l.LastPosition, string(state))
	if err != nil {
		return fmt.Errorf("save lead %s: %w", l.ID, err)
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer for reads.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (v *LeadView) load(ctx context.Context, q querier, id string) (domain.Lead, error) {
	var state string
	err := q.QueryRowContext(ctx, v.q(`SELECT state FROM lead_view WHERE id = ?`), id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Lead{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Lead{}, fmt.Errorf("load lead %s: %w", id, err)
	}
	return decodeLead(state)
}

func (v *LeadView) q(query string) string { return rebind(v.dialect, query) }
