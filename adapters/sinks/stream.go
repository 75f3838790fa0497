package sinks

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/leadledger/leadledger/eventstore"
)

// stream delivers from one cursor. One goroutine (run) owns all of its state; workers only
// make HTTP requests. It reads a window of events ahead of the cursor and keeps them per lead:
// only the oldest undelivered event of a lead is ever in flight, so a lead's events arrive in
// order, while different leads go out in parallel. The cursor moves past an event only once
// it and every event before it is acknowledged (or given up), and it is saved with the
// attempts, without any transaction open during HTTP.
type stream struct {
	lease
	filter eventstore.Filter
	upTo   int64 // a replay's last position; 0 follows the log's head

	window   []*pending // read, not yet done, in position order (done ones are dropped from the front)
	lastRead int64      // every matching event up to here is in the window or done
	caughtUp bool       // the last read found nothing more: wait for the next poll
	byLead   map[uuid.UUID][]*pending
	ready    []*pending
	finished map[int64]bool // finished before a restart, past the saved position: not sent again

	pace *rate.Limiter // a replay's pace while this process ingests; nil: none

	failures    int       // consecutive failed attempts
	retrying    int       // dead letters queued or in flight
	parkedUntil time.Time // a CRM's daily limit: nothing is sent before then
}

type pending struct {
	event    eventstore.Envelope
	attempts int
	done     bool
	retry    *Failure // a dead letter delivered again on request: outside the window, tried once
}

type outcome struct {
	p       *pending
	res     result
	at      time.Time
	latency time.Duration
}

func newStream(m *Manager, c cursor, leaseUntil time.Time) *stream {
	s := &stream{lease: lease{m: m, c: c, leaseUntil: leaseUntil}, byLead: map[uuid.UUID][]*pending{}}
	f := c.sink.Filter
	s.lastRead = c.sink.Position
	if c.replay != nil {
		f = f.and(c.replay.Filter)
		s.upTo, s.lastRead = c.replay.ToPosition, c.replay.Position
	}
	s.filter = eventsFilter(c.sink, f).store(s.upTo)
	if r := m.cfg.ReplayRateWhileIngesting; c.replay != nil && r > 0 {
		s.pace = rate.NewLimiter(rate.Limit(r), max(1, int(r/20)))
	}
	s.unsaved.position = s.lastRead
	if c.sink.RetryAt != nil {
		s.parkedUntil = *c.sink.RetryAt
	}
	return s
}

func (s *stream) run(ctx context.Context) {
	cfg := s.m.cfg
	jobs := make(chan *pending)
	results := make(chan outcome, cfg.Concurrency)
	retries := make(chan *pending)
	stopped := make(chan struct{})
	workCtx, cancelWork := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Go(func() {
			for p := range jobs {
				if err := s.giveWayToIngest(workCtx); err != nil {
					return
				}
				if s.m.registry.edits.of(s.c.sink.ID) != s.c.edit {
					return // the sink changed: sent again by the stream that replaces this one
				}
				start := time.Now()
				var res result
				if p.retry != nil && p.retry.Kind == FailureRecord {
					res = s.m.writeRecords(workCtx, s.c.sink, []string{p.retry.Item}, true)
				} else {
					res = s.m.deliver(workCtx, s.c.sink, p.event, s.c.replay != nil && !s.c.replay.OnlyChanged, s.c.replay != nil)
				}
				select {
				case results <- outcome{p: p, res: res, at: start, latency: time.Since(start)}:
				case <-stopped: // nobody reads results any more: the event is delivered again later
					return
				}
			}
		})
	}
	defer func() {
		close(jobs)
		s.settle(results, retries, stopped, &workers, cancelWork)
		close(stopped)
		s.finish()
	}()

	var err error
	if s.finished, err = s.m.registry.doneAfter(ctx, s.c, s.lastRead, cfg.Backoff.MaxAttempts); err != nil {
		s.m.log.Warn("sink: cannot start", "cursor", s.c.key(), "err", err)
		return
	}
	s.m.log.Info("sink: delivering", "cursor", s.c.key(), "after", s.lastRead, "already_finished", len(s.finished))
	tick := time.NewTicker(cfg.PollInterval)
	defer tick.Stop()
	s.fill(ctx)
	for !s.stop {
		var send chan<- *pending
		var next *pending
		if len(s.ready) > 0 && time.Now().After(s.parkedUntil) {
			send, next = jobs, s.ready[0]
		}
		select {
		case <-ctx.Done():
			return
		case send <- next:
			s.ready = s.ready[1:]
		case o := <-results:
			s.record(o, retries, stopped)
		case p := <-retries:
			s.ready = append(s.ready, p)
		case <-tick.C:
			s.caughtUp = false
			s.save(ctx, false)
			s.takeRetries(ctx)
		}
		if len(s.unsaved.attempts) >= cfg.Page && time.Since(s.lastSaveTry) >= cfg.PollInterval/4 {
			s.save(ctx, false) // bounds what a crash makes us send again under heavy delivery
		}
		if !s.caughtUp && len(s.window) <= cfg.Window-cfg.Page && (s.upTo == 0 || s.lastRead < s.upTo) {
			s.fill(ctx)
		}
		if s.c.replay != nil && len(s.window) == 0 && s.lastRead >= s.upTo {
			s.unsaved.completed, s.stop = true, true
		}
	}
}

// settle lets the requests in flight finish (for a moment at most, then they are abandoned and
// delivered again later) and records their outcomes, so a stop repeats as little as it can.
func (s *stream) settle(results <-chan outcome, retries chan<- *pending, stopped <-chan struct{}, workers *sync.WaitGroup, cancelWork func()) {
	idle := make(chan struct{})
	go func() { workers.Wait(); close(idle) }()
	grace := time.After(2 * time.Second)
	for {
		select {
		case o := <-results:
			if !errors.Is(o.res.err, context.Canceled) {
				s.record(o, retries, stopped)
			}
		case <-grace:
			cancelWork()
		case <-idle:
			cancelWork()
			for {
				select {
				case o := <-results:
					if !errors.Is(o.res.err, context.Canceled) {
						s.record(o, retries, stopped)
					}
				default:
					return
				}
			}
		}
	}
}

// giveWayToIngest holds a replay's delivery to its pace while this process is ingesting.
func (s *stream) giveWayToIngest(ctx context.Context) error {
	if s.pace == nil || time.Since(s.m.store.LastAppend()) > s.m.cfg.IngestWindow {
		return nil
	}
	return s.pace.Wait(ctx)
}

// fill reads the next page of matching events into the window.
func (s *stream) fill(ctx context.Context) {
	bound := s.upTo
	if bound == 0 {
		head, err := s.m.store.Head(ctx)
		if err != nil {
			s.m.log.Warn("sink: read log head", "cursor", s.c.key(), "err", err)
			s.caughtUp = true
			return
		}
		bound = head
	}
	if isCRM(s.c.sink.Type) { // a CRM gets the lead's state: only once the view has the event
		viewed, err := s.m.cfg.Leads.Position(ctx)
		if err != nil {
			s.m.log.Warn("sink: read the lead view's position", "cursor", s.c.key(), "err", err)
			s.caughtUp = true
			return
		}
		bound = min(bound, viewed)
	}
	if bound <= s.lastRead {
		s.caughtUp = true
		return
	}
	page := min(s.m.cfg.Page, s.m.cfg.Window-len(s.window))
	f := s.filter
	f.UpTo = bound
	events, err := s.m.store.ReadEnvelopes(ctx, s.lastRead, page, f)
	if err != nil {
		s.m.log.Warn("sink: read log", "cursor", s.c.key(), "after", s.lastRead, "err", err)
		s.caughtUp = true
		return
	}
	for _, e := range events {
		if s.finished[e.Position] {
			delete(s.finished, e.Position)
			continue
		}
		p := &pending{event: e}
		s.window = append(s.window, p)
		queue := s.byLead[e.LeadID]
		s.byLead[e.LeadID] = append(queue, p)
		if len(queue) == 0 {
			s.ready = append(s.ready, p)
		}
	}
	// Appends commit in position order, so a short page means every matching event up to
	// bound has been read.
	if len(events) < page {
		s.lastRead, s.caughtUp = bound, true
	} else {
		s.lastRead = events[len(events)-1].Position
	}
	s.advance()
}

// record takes the outcome of one attempt: done, retried later, or the sink is gone.
func (s *stream) record(o outcome, retries chan<- *pending, stopped <-chan struct{}) {
	p := o.p
	if p.retry != nil {
		s.recordRetry(o)
		return
	}
	p.attempts++
	a := Attempt{SinkID: s.c.sink.ID, EventID: p.event.ID, Position: p.event.Position, LeadID: p.event.LeadID,
		Number: p.attempts, StatusCode: o.res.statusCode, LatencyMS: float64(o.latency.Microseconds()) / 1000, AttemptedAt: o.at}
	if s.c.replay != nil {
		a.ReplayID = &s.c.replay.ID
	}
	if o.res.err != nil {
		a.Error = o.res.err.Error()
	}
	s.unsaved.attempts = append(s.unsaved.attempts, a)
	s.m.metrics.attempt(s.c.sink.ID, o.res)

	switch {
	case o.res.err == nil:
		s.failures = 0
		s.unsaved.status = StatusActive
		if !s.parkedUntil.IsZero() { // the daily limit has reset
			s.parkedUntil, s.unsaved.retryAt = time.Time{}, &time.Time{}
		}
		s.unsaved.delivered++
		s.unsaved.written += int64(len(o.res.synced))
		s.unsaved.forget(o.res.forgotten...)
		s.unsaved.wrote(o.res.synced...)
		s.done(p)
	case !o.res.parkUntil.IsZero():
		s.parkedUntil = o.res.parkUntil
		s.unsaved.status, s.unsaved.retryAt = StatusFailing, &s.parkedUntil
		s.unsaved.lastError = parkedError(o.res.err, s.parkedUntil)
		s.unsaved.attempts[len(s.unsaved.attempts)-1].NextAttemptAt = new(s.parkedUntil)
		time.AfterFunc(time.Until(s.parkedUntil), func() { // tried again, not counted as an attempt
			select {
			case retries <- p:
			case <-stopped:
			}
		})
		p.attempts--
	case o.res.rejected != nil: // retrying the same record would fail the same way
		s.unsaved.failed++
		s.unsaved.wrote(o.res.synced...)
		s.unsaved.reject(o.res.rejected...)
		s.done(p)
	case o.res.gone:
		s.unsaved.gone, s.unsaved.lastError, s.stop = true, a.Error, true
	default:
		s.failures++
		s.unsaved.lastError = a.Error
		if s.failures >= s.m.cfg.FailingAfter {
			s.unsaved.status = StatusFailing
		}
		if p.attempts >= s.m.cfg.Backoff.MaxAttempts {
			s.m.log.Warn("sink: event given up", "cursor", s.c.key(), "event", p.event.ID, "attempts", p.attempts, "err", a.Error)
			s.unsaved.failed++
			s.unsaved.reject(Failure{SinkID: s.c.sink.ID, Item: p.event.ID.String(),
				Kind: FailureEvent, LeadIDs: []uuid.UUID{p.event.LeadID}, Position: p.event.Position, Error: a.Error,
				Attempts: p.attempts, FailedAt: o.at})
			s.done(p)
			return
		}
		wait := s.m.cfg.Backoff.wait(p.attempts, o.res.retryAfter)
		s.unsaved.attempts[len(s.unsaved.attempts)-1].NextAttemptAt = new(time.Now().Add(wait).UTC())
		time.AfterFunc(wait, func() {
			select {
			case retries <- p:
			case <-stopped:
			}
		})
	}
}

// done finishes an event: the next event of its lead may go.
func (s *stream) done(p *pending) {
	p.done = true
	queue := s.byLead[p.event.LeadID][1:]
	if len(queue) == 0 {
		delete(s.byLead, p.event.LeadID)
	} else {
		s.byLead[p.event.LeadID] = queue
		s.ready = append(s.ready, queue[0])
	}
	s.advance()
}

// advance drops finished events from the front of the window and moves the cursor.
func (s *stream) advance() {
	for len(s.window) > 0 && s.window[0].done {
		s.window[0] = nil
		s.window = s.window[1:]
	}
	if len(s.window) == 0 {
		s.unsaved.position = s.lastRead
	} else {
		s.unsaved.position = s.window[0].event.Position - 1
	}
}
