package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("event store is closed")

// MaxAppend is the most events one Append call may carry.
const MaxAppend = 1000

// Append writes events to the log atomically: all of them commit, or none. An event with
// Version 0 gets the next version of its lead's stream; an explicit version that is taken fails
// with domain.ErrVersionConflict. It returns the events with Version and Position filled in,
// once they are committed.
//
// Concurrent calls share transactions (group commit): a caller waits at most for the commit
// under way plus its own.
func (s *Store) Append(ctx context.Context, events ...domain.Event) ([]domain.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if len(events) > MaxAppend {
		return nil, fmt.Errorf("append %d events: at most %d in one call", len(events), MaxAppend)
	}
	req := &appendRequest{events: append([]domain.Event(nil), events...), done: make(chan error, 1)}
	if err := s.writer.submit(ctx, req); err != nil {
		return nil, err
	}
	select {
	case err := <-req.done:
		if err != nil {
			return nil, err
		}
		return req.events, nil
	case <-ctx.Done():
		// The batch may still commit; the caller was not told it did, so it is not acknowledged.
		return nil, fmt.Errorf("append: %w", ctx.Err())
	}
}

type appendRequest struct {
	events []domain.Event
	done   chan error
}

// batchWriter is the single goroutine that commits appends, many requests per transaction.
type batchWriter struct {
	store    *Store
	maxBatch int
	queue    chan *appendRequest
	mu       sync.RWMutex // guards closed against submit
	closed   bool
	stopped  chan struct{}
}

func newBatchWriter(s *Store, maxBatch int) *batchWriter {
	w := &batchWriter{store: s, maxBatch: maxBatch, queue: make(chan *appendRequest, 4096), stopped: make(chan struct{})}
	go w.run()
	return w
}

func (w *batchWriter) submit(ctx context.Context, req *appendRequest) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- req:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("append: %w", ctx.Err())
	}
}

// close stops new requests and waits until every queued one is answered.
func (w *batchWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.stopped
}

func (w *batchWriter) run() {
	defer close(w.stopped)
	for first := range w.queue {
		batch, n := []*appendRequest{first}, len(first.events)
	fill:
		for n < w.maxBatch {
			select {
			case req, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, req)
				n += len(req.events)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit writes a batch in one transaction. If it fails and holds several requests, each is
// retried alone, so one request's version conflict never fails its neighbours.
func (w *batchWriter) commit(batch []*appendRequest) {
	// The requests' own contexts are not used: a commit, once begun, should finish.
	ctx := context.Background()
	err := w.store.appendTx(ctx, batch)
	if err == nil || len(batch) == 1 {
		for _, req := range batch {
			req.done <- err
		}
		return
	}
	for _, req := range batch {
		req.done <- w.store.appendTx(ctx, []*appendRequest{req})
	}
}

// appendTx assigns versions and writes the batch's events through watermill's publisher.
func (s *Store) appendTx(ctx context.Context, batch []*appendRequest) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin append: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.dialect.lockAppends != "" {
		if _, err := tx.ExecContext(ctx, s.dialect.lockAppends); err != nil {
			return fmt.Errorf("lock appends: %w", err)
		}
	}
	var events []*domain.Event
	for _, req := range batch {
		for i := range req.events {
			events = append(events, &req.events[i])
		}
	}
	if err := s.assignVersions(ctx, tx, events); err != nil {
		return err
	}
	msgs := make(message.Messages, 0, len(events))
	for _, e := range events {
		msg, err := toMessage(*e)
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	publisher, err := wsql.NewPublisher(tx, wsql.PublisherConfig{SchemaAdapter: s.schema}, nil)
	if err != nil {
		return fmt.Errorf("append publisher: %w", err)
	}
	if err := publisher.Publish(Topic, msgs...); err != nil {
		if s.dialect.isUniqueViolation(err) {
			return fmt.Errorf("append: %w", domain.ErrVersionConflict)
		}
		return fmt.Errorf("append: %w", err)
	}
	if err := s.assignPositions(ctx, tx, events); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit append: %w", err)
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier = wsql.ContextExecutor

// assignVersions gives every event with Version 0 the next version of its lead's stream.
// It runs under the append lock, so the maxima it reads cannot change before commit.
func (s *Store) assignVersions(ctx context.Context, q querier, events []*domain.Event) error {
	next := map[uuid.UUID]int64{}
	var ids []any
	for _, e := range events {
		if _, ok := next[e.LeadID]; !ok {
			next[e.LeadID] = 0
			ids = append(ids, e.LeadID.String())
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT stream_id, MAX(stream_version) FROM `+eventsTable+
		` WHERE stream_id IN (`+s.dialect.list(1, len(ids))+`) GROUP BY stream_id`, ids...)
	if err != nil {
		return fmt.Errorf("read stream versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var max int64
		if err := rows.Scan(&id, &max); err != nil {
			return fmt.Errorf("scan stream version: %w", err)
		}
		next[uuid.MustParse(id)] = max
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read stream versions: %w", err)
	}
	for _, e := range events {
		if e.Version == 0 {
			e.Version = next[e.LeadID] + 1
		}
		if e.Version > next[e.LeadID] {
			next[e.LeadID] = e.Version
		}
	}
	return nil
}

// assignPositions reads back the offsets the database gave the events.
func (s *Store) assignPositions(ctx context.Context, q querier, events []*domain.Event) error {
	byID := make(map[string]*domain.Event, len(events))
	ids := make([]any, 0, len(events))
	for _, e := range events {
		byID[e.ID.String()] = e
		ids = append(ids, e.ID.String())
	}
	rows, err := q.QueryContext(ctx, `SELECT uuid, "offset" FROM `+eventsTable+
		` WHERE uuid IN (`+s.dialect.list(1, len(ids))+`)`, ids...)
	if err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var pos int64
		if err := rows.Scan(&id, &pos); err != nil {
			return fmt.Errorf("scan position: %w", err)
		}
		byID[id].Position = pos
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	return nil
}
