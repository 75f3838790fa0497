package sinks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// recordStream writes a CRM sink's records (mode snapshot) from one cursor. It reads the log a
// page at a time, up to where the lead view has come; finds the records the page's events
// touched; and writes each record's current state once, in batches, several batches at a time.
// The cursor moves past a page once every record of it is written or rejected. A live cursor
// sends a record only when its mapped fields changed since they were last written; a replay
// sends every record once (its state at the replay's end), or only the changed ones when asked.
type recordStream struct {
	lease
	client *sinkClient
	filter eventstore.Filter
	upTo   int64 // a replay's last position; 0 follows the log's head

	lastRead    int64
	mu          sync.Mutex         // guards doneLeads, which the page read ahead reads
	written     map[string]bool    // replay: records this replay wrote already (it coalesces)
	doneLeads   map[uuid.UUID]bool // replay: leads of those records, whose later events cost nothing
	pace        *rate.Limiter      // a replay's records/s while this process ingests; nil: none
	lastRetries time.Time          // when the dead letters to retry were last looked for
	onlyChanged bool

	retryAt time.Time // parked by a daily limit until then
}

func newRecordStream(m *Manager, c cursor, client *sinkClient, leaseUntil time.Time) *recordStream {
	s := &recordStream{lease: lease{m: m, c: c, leaseUntil: leaseUntil}, client: client, lastRead: c.sink.Position, onlyChanged: true}
	f := c.sink.Filter
	if c.replay != nil {
		f = f.and(c.replay.Filter)
		s.upTo, s.lastRead = c.replay.ToPosition, c.replay.Position
		s.written, s.doneLeads, s.onlyChanged = map[string]bool{}, map[uuid.UUID]bool{}, c.replay.OnlyChanged
		if r := m.cfg.ReplayRecordsWhileIngesting; r > 0 {
			s.pace = rate.NewLimiter(rate.Limit(r), max(int(r), 200)) // a burst holds a whole batch
		}
	}
	if c.sink.RetryAt != nil {
		s.retryAt = *c.sink.RetryAt
	}
	s.filter = f.store(s.upTo)
	s.unsaved.position = s.lastRead
	return s
}

func (s *recordStream) run(ctx context.Context) {
	defer s.finish()
	s.m.log.Info("sink: writing records", "cursor", s.c.key(), "after", s.lastRead)
	tick := time.NewTicker(s.m.cfg.PollInterval)
	defer tick.Stop()
	var ahead <-chan pageRead // the next page, read while this one is written
	defer func() {
		if ahead != nil {
			<-ahead
		}
	}()
	for !s.stop && ctx.Err() == nil {
		if time.Now().Before(s.retryAt) {
			s.idle(ctx, tick)
			continue
		}
		if s.c.replay == nil && time.Since(s.lastRetries) >= time.Second {
			s.lastRetries = time.Now()
			if !s.retryFailures(ctx, tick) {
				break
			}
		}
		var r pageRead
		if ahead != nil {
			r, ahead = <-ahead, nil
		} else {
			r.page, r.err = s.nextPage(ctx, s.lastRead)
		}
		if r.err != nil {
			s.m.log.Warn("sink: read the records to write", "cursor", s.c.key(), "err", r.err)
			s.idle(ctx, tick)
			continue
		}
		p := r.page
		if p == nil {
			if s.c.replay != nil && s.lastRead >= s.upTo {
				s.unsaved.completed, s.stop = true, true
				break
			}
			s.idle(ctx, tick)
			continue
		}
		s.dropWritten(p)
		s.unsaved.forget(p.erased...) // before the page's records: the lead may be back in them
		ahead = s.readAhead(ctx, p.end)
		if !s.writePage(ctx, p, tick, false) {
			break
		}
		s.lastRead = p.end
		s.unsaved.position = p.end
		// A page's progress is saved at most once a second, or when much is waiting, while the
		// next pages are written: a crash makes the CRM get those records once more, which
		// changes nothing there.
		if full := len(s.unsaved.synced) >= 10*s.m.cfg.Window; full || time.Since(s.lastSavedAt) >= time.Second {
			if full {
				s.waitSaved() // what waits to be saved stays bounded in memory
			}
			s.saveInBackground(ctx)
		}
	}
}

// pageRead is a page read ahead, or why it could not be.
type pageRead struct {
	page *page
	err  error
}

// readAhead reads the page after a position in the background.
func (s *recordStream) readAhead(ctx context.Context, after int64) <-chan pageRead {
	out := make(chan pageRead, 1)
	go func() {
		p, err := s.nextPage(ctx, after)
		out <- pageRead{p, err}
	}()
	return out
}

// idle waits for the next poll, keeping the lease.
func (s *recordStream) idle(ctx context.Context, tick *time.Ticker) {
	select {
	case <-ctx.Done():
	case <-tick.C:
		s.save(ctx, false)
	}
}

// page is the records touched by a run of the log's events.
type page struct {
	end    int64            // the position the cursor moves to once the page is written
	keys   []string         // the records to write
	events map[string]int64 // events per record key, for a replay's progress
	other  int64            // events whose records this replay wrote before, or that have none
	erased []uuid.UUID      // leads erased in the page: the identity map forgets them

	done progress // counts, added to the stream's when every record is written or rejected
}

// nextPage reads the events after a position that the lead view has applied and finds their
// records; nil when there are none yet. It may run beside writePage (read ahead).
func (s *recordStream) nextPage(ctx context.Context, after int64) (*page, error) {
	bound := s.upTo
	if bound == 0 {
		head, err := s.m.store.Head(ctx)
		if err != nil {
			return nil, err
		}
		bound = head
	}
	viewed, err := s.m.cfg.Leads.Position(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the lead view's position: %w", err)
	}
	if bound = min(bound, viewed); bound <= after {
		return nil, nil
	}
	f := s.filter
	f.UpTo = bound
	size := s.m.cfg.Window
	events, err := s.m.store.ReadLeadPositions(ctx, after, size, f)
	if err != nil {
		return nil, err
	}
	p := &page{end: bound, events: map[string]int64{}}
	if len(events) == size { // appends commit in position order: a short page read everything up to bound
		p.end = events[len(events)-1].Position
	}
	if p.erased, err = s.erasures(ctx, after, p.end, size); err != nil {
		return nil, err
	}
	perLead := map[uuid.UUID]int64{}
	s.mu.Lock()
	for _, e := range events {
		if s.doneLeads[e.LeadID] { // a replay wrote its record already, in its current state
			p.other++
			continue
		}
		perLead[e.LeadID]++
	}
	s.mu.Unlock()
	ids := slices.Collect(maps.Keys(perLead))
	leads, err := s.m.cfg.Leads.LeadKeys(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read leads: %w", err)
	}
	for _, l := range leads {
		if wants(s.c.sink, l.Source) {
			p.events[recordKey(s.c.sink, l.ID, l.EmailNormalized)] += perLead[l.ID]
			delete(perLead, l.ID)
		}
	}
	for _, n := range perLead {
		p.other += n
	}
	// Records a lead left: written again without it; but not for an erasure, which sends nothing.
	before, err := s.m.registry.linkedKeys(ctx, s.c.sink.ID, slices.DeleteFunc(ids, func(id uuid.UUID) bool { return slices.Contains(p.erased, id) }))
	if err != nil {
		return nil, err
	}
	for _, k := range before {
		if _, ok := p.events[k]; !ok {
			p.events[k] = 0
		}
	}
	return p, nil
}

// erasures are the leads erased after a position up to end, whatever types of event the sink
// takes (see withErasures), read n at a time.
func (s *recordStream) erasures(ctx context.Context, after, end int64, n int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for {
		erased, err := s.m.store.ReadLeadPositions(ctx, after, n,
			eventstore.Filter{Types: []domain.EventType{domain.LeadErased}, Sources: s.filter.Sources, UpTo: end})
		if err != nil {
			return nil, fmt.Errorf("read the erasures: %w", err)
		}
		for _, e := range erased {
			ids = append(ids, e.LeadID)
		}
		if len(erased) < n {
			return ids, nil
		}
		after = erased[len(erased)-1].Position
	}
}

// dropWritten takes out of a page the records this replay wrote already (a replay writes each
// record once, in its state at the time); their events count as done.
func (s *recordStream) dropWritten(p *page) {
	for k, n := range p.events {
		if s.written[k] {
			p.other += n
			delete(p.events, k)
		}
	}
	p.keys = slices.Sorted(maps.Keys(p.events))
}

// writePage writes a page's records in batches, several at a time, each record's state read
// as it is written. It returns false when the stream must stop with the page unfinished.
func (s *recordStream) writePage(ctx context.Context, p *page, tick *time.Ticker, force bool) bool {
	batches := slices.Collect(slices.Chunk(p.keys, max(1, s.client.MaxBatch())))
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs, done := make(chan []string), make(chan batchResult)
	var workers sync.WaitGroup
	for range min(s.m.cfg.CRMConcurrency, len(batches)) {
		workers.Go(func() {
			for keys := range jobs {
				if err := s.giveWayToIngest(workCtx, len(keys)); err != nil {
					return
				}
				res := s.m.writeKeys(workCtx, s.c.sink, s.client, keys, s.onlyChanged && !force)
				select {
				case done <- res:
				case <-workCtx.Done():
					return
				}
			}
		})
	}
	defer func() { close(jobs); cancel(); workers.Wait() }()
	for pending := len(batches); pending > 0; {
		var send chan<- []string
		var next []string
		if len(batches) > 0 && time.Now().After(s.retryAt) {
			send, next = jobs, batches[0]
		}
		select {
		case <-ctx.Done():
			return false
		case send <- next:
			batches = batches[1:]
		case res := <-done:
			switch {
			case ctx.Err() != nil: // stopping: not the CRM's failure
				return false
			case res.park != nil:
				s.park(res.park)
				batches = append(batches, res.keys)
			case res.err != nil: // tried again; the sink shows failing meanwhile
				s.unsaved.status, s.unsaved.lastError = StatusFailing, res.err.Error()
				batches = append(batches, res.keys)
			default:
				pending--
				s.recordOutcomes(p, res)
			}
		case <-tick.C:
			s.saveInBackground(ctx)
			if s.stop {
				return false
			}
		}
	}
	p.done.delivered += p.other
	s.unsaved.delivered += p.done.delivered
	s.unsaved.failed += p.done.failed
	s.unsaved.written += p.done.written
	s.unsaved.unchanged += p.done.unchanged
	return true
}

// giveWayToIngest holds a replay to its pace while this process is ingesting: a record costs
// far more than an event (the lead view's reads, a share of a CRM call, an identity map row),
// and vendors' webhooks come first.
func (s *recordStream) giveWayToIngest(ctx context.Context, records int) error {
	if s.pace == nil || time.Since(s.m.store.LastAppend()) > s.m.cfg.IngestWindow {
		return nil
	}
	return s.pace.WaitN(ctx, records)
}

// retryFailures writes again the records whose dead letters a retry was asked for, with their
// current state; false when the stream must stop.
func (s *recordStream) retryFailures(ctx context.Context, tick *time.Ticker) bool {
	failures, err := s.m.registry.retrying(ctx, s.c.sink.ID, 1000)
	if err != nil || len(failures) == 0 {
		return err == nil || ctx.Err() == nil
	}
	p := &page{end: s.lastRead, events: map[string]int64{}}
	for _, f := range failures {
		p.keys = append(p.keys, f.Item)
	}
	s.m.log.Info("sink: retrying dead letters", "cursor", s.c.key(), "records", len(p.keys))
	ok := s.writePage(ctx, p, tick, true)
	s.save(ctx, false)
	return ok
}

// recordOutcomes takes a written batch into the progress: written records into the identity
// map, rejected ones into the dead letters; a key with no record left (its leads gone from the
// sink's sources) has nothing to write.
func (s *recordStream) recordOutcomes(p *page, res batchResult) {
	s.unsaved.status = StatusActive
	if !s.retryAt.IsZero() { // the limit has reset
		s.retryAt, s.unsaved.retryAt = time.Time{}, &time.Time{}
	}
	now := time.Now()
	finished := map[string]bool{}
	for _, r := range res.unchanged {
		finished[r.key] = true
		p.done.unchanged++
		s.unsaved.resolve(r.key)
		s.rememberLeads(r)
	}
	for i, r := range res.batch {
		finished[r.key] = true
		s.rememberLeads(r)
		if out := res.outcomes[i]; out.Err != nil {
			p.done.failed += p.events[r.key]
			s.unsaved.reject(rejection(s.c.sink, r, out.Err, now))
		} else {
			p.done.written++
			s.unsaved.wrote(synced{record: r, outcome: out, at: now})
		}
	}
	for _, k := range res.keys {
		if !finished[k] {
			s.unsaved.resolve(k)
		}
		if !rejectedKey(res, k) {
			p.done.delivered += p.events[k]
		}
		s.remember(k)
	}
}

// rejectedKey reports whether the CRM rejected the record of key in this batch.
func rejectedKey(res batchResult, key string) bool {
	for i, r := range res.batch {
		if r.key == key {
			return res.outcomes[i].Err != nil
		}
	}
	return false
}

func (s *recordStream) rememberLeads(r record) {
	if s.doneLeads != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range r.leadIDs {
			s.doneLeads[id] = true
		}
	}
}

func (s *recordStream) remember(key string) {
	if s.written != nil {
		s.written[key] = true
	}
}
