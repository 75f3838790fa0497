package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leadledger/leadledger/domain"
)

type appendRequest struct {
	ctx    context.Context // the caller's: once it is done, nobody waits for the answer
	events []domain.Event
	done   chan error
}

// batchWriter is group commit: appends wait in a queue, and one goroutine takes everything
// waiting into one transaction, then answers each request. Appends are serialised by the
// append lock anyway, so one writer loses nothing, and the batch grows with the load.
// (Measured: a second writer pipelining through the lock made batches smaller and ingest slower.)
type batchWriter struct {
	store    *Store
	maxBatch int
	timeout  time.Duration // of one append transaction
	queue    chan *appendRequest
	mu       sync.RWMutex // guards closed against submit
	closed   bool
	stopped  chan struct{}
}

func newBatchWriter(s *Store, maxBatch int, timeout time.Duration) *batchWriter {
	w := &batchWriter{store: s, maxBatch: maxBatch, timeout: timeout,
		queue: make(chan *appendRequest, 4096), stopped: make(chan struct{})}
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

// errStuck is returned by close when the writer has made no progress for longer than a commit
// may take.
var errStuck = errors.New("a commit is still waiting on the database")

// close stops new requests and waits until every queued one is answered, as long as the writer
// makes progress. A database that swallows packets (a partition, a frozen server) answers
// neither a commit nor the driver's request to cancel it, and only TCP gives up, after
// minutes: then close gives up after a commit's deadline and a grace period, with errStuck.
func (w *batchWriter) close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	progress := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stopped:
			return nil
		case <-tick.C:
			if last := w.store.LastAppend(); last.After(progress) {
				progress = last
			}
			if time.Since(progress) > w.timeout+closeGrace {
				return errStuck
			}
		}
	}
}

// closeGrace is how much longer than a commit's deadline close waits for a silent writer.
const closeGrace = 2 * time.Second

func (w *batchWriter) run() {
	defer close(w.stopped)
	for batch := w.collect(); batch != nil; batch = w.collect() {
		if batch = w.dropAbandoned(batch); len(batch) > 0 {
			w.commit(batch)
		}
	}
}

// collect waits for one request, then takes whatever else is waiting, up to maxBatch events.
// It returns nil once the queue is closed and empty.
func (w *batchWriter) collect() []*appendRequest {
	first, ok := <-w.queue
	if !ok {
		return nil
	}
	batch, n := []*appendRequest{first}, len(first.events)
	for n < w.maxBatch {
		select {
		case req, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, req)
			n += len(req.events)
		default:
			return batch
		}
	}
	return batch
}

// dropAbandoned answers the requests whose callers stopped waiting (they were told the append
// failed) without writing them: storing them anyway would keep a webhook its sender retries.
func (w *batchWriter) dropAbandoned(batch []*appendRequest) []*appendRequest {
	kept := batch[:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			w.store.metrics.abandoned.Inc()
			req.done <- fmt.Errorf("append abandoned before it began: %w", err)
			continue
		}
		kept = append(kept, req)
	}
	return kept
}

// commit writes a batch in one transaction. If it fails and holds several requests, each is
// retried alone, so one request's version conflict never fails its neighbours; an unavailable
// database fails them all at once.
func (w *batchWriter) commit(batch []*appendRequest) {
	defer w.store.lastAppend.Store(time.Now().UnixNano())
	err := w.appendTx(batch)
	if err == nil || len(batch) == 1 || errors.Is(err, ErrUnavailable) {
		for _, req := range batch {
			w.store.metrics.failed(err) // before the answer: whoever reads the metrics after it sees it
			req.done <- err
		}
		return
	}
	for _, req := range w.dropAbandoned(batch) {
		err := w.appendTx([]*appendRequest{req})
		w.store.metrics.failed(err)
		req.done <- err
	}
}

// appendTx runs one append transaction under the writer's deadline, not the requests'
// contexts: a commit, once begun, should finish, but never hold the writer for ever.
func (w *batchWriter) appendTx(batch []*appendRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	started := time.Now()
	if err := w.store.appendTx(ctx, batch); err != nil {
		return unavailable(err)
	}
	// Observed once per transaction, after the commit: nothing per event on the hot path.
	n := 0
	for _, req := range batch {
		n += len(req.events)
	}
	w.store.metrics.committed(n, time.Since(started))
	return nil
}
