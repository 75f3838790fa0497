package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadledger/leadledger/eventstore"
)

// Config tunes delivery.
type Config struct {
	// Concurrency is how many deliveries one cursor (a sink's live delivery, or a replay) has
	// in flight, each to a different lead. Defaults to 16.
	Concurrency int
	// Window is how many events a cursor reads ahead of its position. Defaults to 2000.
	Window int
	// Page is how many events one read of the log takes. Defaults to 500.
	Page int
	// PollInterval is how often a caught-up cursor looks for new events. Defaults to 100ms.
	PollInterval time.Duration
	// Timeout bounds one delivery attempt. Defaults to 10s.
	Timeout time.Duration
	// Backoff is the retry schedule of failed deliveries.
	Backoff Backoff
	// FailingAfter is how many consecutive failed attempts make a sink show "failing".
	// Defaults to 5.
	FailingAfter int
	// ReplayRateWhileIngesting caps each replay, in events/s, while this process is ingesting
	// (it appended within IngestWindow), so a replay never takes ingest's CPU; idle, a replay
	// goes as fast as its receiver acknowledges. Defaults to 2000; negative: no cap.
	ReplayRateWhileIngesting float64
	// ReplayRecordsWhileIngesting caps a CRM replay in snapshot mode, in records/s, while this
	// process is ingesting. Defaults to 1000; negative: no cap.
	ReplayRecordsWhileIngesting float64
	// IngestWindow is how long after its last append the process counts as ingesting.
	// Defaults to 1s.
	IngestWindow time.Duration
	// LeaseTTL is how long a process holds a cursor without renewing it; another process takes
	// over a cursor whose lease lapsed. Defaults to 5s.
	LeaseTTL time.Duration
	// Leads is the lead view, which CRM sinks write from; CRM sinks do not run without it.
	Leads LeadReader
	// CRMConcurrency is how many batch calls one CRM cursor has in flight. Defaults to 8.
	CRMConcurrency int
	// DailyLimitPark is how long at most a sink that hit a CRM's daily limit waits before it
	// tries again (it waits until the next UTC midnight if that is sooner). Defaults to 1h.
	DailyLimitPark time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the delivery metrics; nil registers none.
	Registerer prometheus.Registerer
}

func (c *Config) setDefaults() {
	c.Concurrency = orDefault(c.Concurrency, 16)
	c.Window = orDefault(c.Window, 2000)
	c.Page = min(orDefault(c.Page, 500), c.Window)
	c.PollInterval = orDefault(c.PollInterval, 100*time.Millisecond)
	c.Timeout = orDefault(c.Timeout, 10*time.Second)
	c.FailingAfter = orDefault(c.FailingAfter, 5)
	c.LeaseTTL = orDefault(c.LeaseTTL, 5*time.Second)
	c.ReplayRateWhileIngesting = orDefault(c.ReplayRateWhileIngesting, 2000)
	c.ReplayRecordsWhileIngesting = orDefault(c.ReplayRecordsWhileIngesting, 1000)
	c.IngestWindow = orDefault(c.IngestWindow, time.Second)
	c.CRMConcurrency = orDefault(c.CRMConcurrency, 8)
	c.DailyLimitPark = orDefault(c.DailyLimitPark, time.Hour)
	c.Backoff.setDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// orDefault is v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Manager runs delivery: it takes the lease of every cursor that should deliver (live sinks
// and running replays) and runs a stream for each, and stops a stream when its sink is
// paused, disabled or deleted, or its replay is cancelled. Several processes may run one each:
// a cursor is delivered from by one process at a time.
type Manager struct {
	cfg      Config
	store    *eventstore.Store
	registry *Registry
	hook     webhook
	owner    string // this process, in leases
	log      *slog.Logger
	metrics  *metrics

	transport http.RoundTripper // shared by the CRM clients: one pool of connections
	clientsMu sync.Mutex
	clients   map[uuid.UUID]*sinkClient
	locks     keyLocks
	broken    map[string]string // cursors that cannot start, and why (reconcile's goroutine only)
	// started is what each running cursor started with (Run's goroutine only).
	started    map[string]startedWith
	publishers map[uuid.UUID]sinkPublisher
}

// startedWith is what a running stream was started with: its sink's settings and edits count.
// Either changing restarts the stream.
type startedWith struct {
	settings string
	edit     int64
}

// NewManager builds the delivery engine over the registry's sinks.
func NewManager(cfg Config, store *eventstore.Store, registry *Registry) (*Manager, error) {
	if store == nil || registry == nil {
		return nil, errors.New("sinks: store and registry are required")
	}
	cfg.setDefaults()
	m, err := newMetrics(cfg.Registerer, registry)
	if err != nil {
		return nil, err
	}
	transport := newTransport(registry.guard) // the registry's allow_private_sink_urls
	transport.MaxIdleConnsPerHost = cfg.Concurrency
	return &Manager{
		cfg: cfg, store: store, registry: registry, owner: store.Instance(), log: cfg.Logger, metrics: m,
		transport: transport, clients: map[uuid.UUID]*sinkClient{}, publishers: map[uuid.UUID]sinkPublisher{}, broken: map[string]string{},
		started: map[string]startedWith{},
		hook:    webhook{client: newWebhookClient(cfg.Timeout, transport), now: time.Now},
	}, nil
}

// deliver makes one attempt at one event of a sink in events mode; force sends a CRM record
// even when it is as last written (a replay that re-sends everything); replay marks a webhook
// delivery as a replay's.
func (m *Manager) deliver(ctx context.Context, s Sink, e eventstore.Envelope, force, replay bool) result {
	switch {
	case s.Type == TypeNATS:
		return m.publish(ctx, s, e)
	case isCRM(s.Type):
		return m.writeEventRecord(ctx, s, e, force)
	}
	return m.hook.deliver(ctx, s, e, replay)
}

// streamFor is what delivers from a cursor: a record stream for a CRM in snapshot mode, an
// event stream otherwise.
func (m *Manager) streamFor(c cursor, leaseUntil time.Time) (func(context.Context), error) {
	if !isCRM(c.sink.Type) {
		return newStream(m, c, leaseUntil).run, nil
	}
	if m.cfg.Leads == nil {
		return nil, errors.New("CRM sinks need the lead view, and this process runs none")
	}
	client, err := m.client(c.sink)
	if err != nil {
		return nil, err
	}
	if c.sink.Mode == ModeSnapshot {
		return newRecordStream(m, c, client, leaseUntil).run, nil
	}
	return newStream(m, c, leaseUntil).run, nil
}

// Run delivers until ctx is done, then stops every stream after saving its progress.
func (m *Manager) Run(ctx context.Context) error {
	running := map[string]context.CancelFunc{}
	exited := make(chan string)
	var streams sync.WaitGroup
	defer m.closePublishers()
	defer func() {
		for _, cancel := range running {
			cancel()
		}
		go func() {
			for range exited { // let every stream report its end
			}
		}()
		streams.Wait()
		close(exited)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := m.reconcile(ctx, running, exited, &streams); err != nil && ctx.Err() == nil {
			m.log.Warn("sinks: reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-m.registry.Changed():
		case key := <-exited:
			running[key]()
			delete(running, key)
			delete(m.started, key)
		}
	}
}

// reconcile starts a stream for every runnable cursor this process can lease, and stops those
// no longer runnable.
func (m *Manager) reconcile(ctx context.Context, running map[string]context.CancelFunc, exited chan<- string, streams *sync.WaitGroup) error {
	cursors, err := m.registry.runnable(ctx)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, c := range cursors {
		key := c.key()
		wanted[key] = true
		if running[key] != nil {
			if m.started[key] != (startedWith{c.sink.settings(), m.registry.edits.of(c.sink.ID)}) {
				running[key]() // the sink was changed: the stream stops, and starts again with it
			}
			continue
		}
		until := time.Now().Add(m.cfg.LeaseTTL)
		ok, err := m.registry.claim(ctx, c, m.owner, until)
		if err != nil {
			return fmt.Errorf("claim %s: %w", key, err)
		}
		if !ok {
			continue // another process delivers from it
		}
		// Read the cursor again now that it is ours: the process that held it may have moved
		// it, or finished the replay, since runnable read it. The edits count is read first: a
		// change after it stops the stream (see edits).
		edit := m.registry.edits.of(c.sink.ID)
		if c, ok, err = m.registry.reread(ctx, c); err != nil || !ok {
			_ = m.registry.release(ctx, c, m.owner)
			if err != nil {
				return err
			}
			continue
		}
		c.edit = edit
		run, err := m.streamFor(c, until)
		if err != nil {
			_ = m.registry.release(ctx, c, m.owner)
			if m.broken[key] != err.Error() { // said once, not at every reconcile
				m.broken[key] = err.Error()
				m.log.Warn("sink: cannot deliver", "cursor", key, "err", err)
				_ = m.registry.fail(ctx, c.sink.ID, "cannot deliver: "+err.Error())
			}
			continue
		}
		delete(m.broken, key)
		m.started[key] = startedWith{c.sink.settings(), edit}
		streamCtx, cancel := context.WithCancel(ctx)
		running[key] = cancel
		streams.Go(func() {
			run(streamCtx)
			exited <- key
		})
	}
	for key, cancel := range running {
		if !wanted[key] {
			cancel()
		}
	}
	return nil
}
