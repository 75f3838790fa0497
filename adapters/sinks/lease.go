package sinks

import (
	"context"
	"time"
)

// lease is what every stream (of events or of records) keeps of its cursor: the progress not
// yet saved, and the lease it holds while it delivers.
type lease struct {
	m           *Manager
	c           cursor
	unsaved     progress
	stop        bool // the lease was lost or the cursor finished: deliver no more
	leaseUntil  time.Time
	lastSavedAt time.Time
	lastSaveTry time.Time // a failing database is not asked again at every result
	lastReport  time.Time // of a replay's progress in the log

	saving chan savedResult // a save under way in the background; nil when none
}

// savedResult is what came of saving some progress.
type savedResult struct {
	p     progress
	until time.Time
	ok    bool
	err   error
}

// save writes the progress when there is any, or when the lease needs renewing; final saves
// always write. A lost lease stops the cursor.
func (s *lease) save(ctx context.Context, final bool) {
	s.waitSaved()
	p := s.unsaved
	if p.empty() && !final && time.Since(s.lastSavedAt) < s.m.cfg.LeaseTTL/3 {
		return
	}
	s.unsaved = progress{position: p.position}
	s.saved(ctx, s.write(ctx, p))
}

// saveInBackground starts saving the progress so far and returns: the stream goes on with its
// next records while the database writes these (a record stream's identity map rows are most
// of its database work). One save runs at a time; while one does, this does nothing.
func (s *lease) saveInBackground(ctx context.Context) {
	if s.saving != nil {
		select {
		case r := <-s.saving:
			s.saving = nil
			s.saved(ctx, r)
		default:
			return
		}
	}
	if s.stop {
		return
	}
	p := s.unsaved
	s.unsaved = progress{position: p.position}
	done := make(chan savedResult, 1)
	s.saving = done
	go func() { done <- s.write(ctx, p) }()
}

// waitSaved waits for a save under way and takes its result.
func (s *lease) waitSaved() {
	if s.saving != nil {
		r := <-s.saving
		s.saving = nil
		s.saved(context.Background(), r)
	}
}

func (s *lease) write(ctx context.Context, p progress) savedResult {
	until := time.Now().Add(s.m.cfg.LeaseTTL)
	ok, err := s.m.registry.save(ctx, s.c, p, s.m.owner, until)
	return savedResult{p: p, until: until, ok: ok, err: err}
}

// saved takes a save's result: a failed one leaves its progress to be saved again, before
// what came since.
func (s *lease) saved(ctx context.Context, r savedResult) {
	s.lastSaveTry = time.Now()
	if r.err != nil {
		s.m.log.Warn("sink: save progress", "cursor", s.c.key(), "err", r.err)
		s.unsaved = r.p.then(s.unsaved)
		if time.Now().After(s.leaseUntil) {
			s.stop = true // the lease may have passed to another process
		}
		return
	}
	if !r.ok {
		s.m.log.Info("sink: cursor taken over or removed; stopping", "cursor", s.c.key())
		s.stop = true
		return
	}
	s.leaseUntil, s.lastSavedAt = r.until, time.Now()
	s.m.reportReplay(ctx, s.c, &s.lastReport, r.p.completed)
}

// finish saves the last progress and hands the lease back.
func (s *lease) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.save(ctx, true)
	if err := s.m.registry.release(ctx, s.c, s.m.owner); err != nil {
		s.m.log.Warn("sink: release lease", "cursor", s.c.key(), "err", err)
	}
}
