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
}

// save writes the progress when there is any, or when the lease needs renewing; final saves
// always write. A lost lease stops the cursor.
func (s *lease) save(ctx context.Context, final bool) {
	p := s.unsaved
	if p.empty() && !final && time.Since(s.lastSavedAt) < s.m.cfg.LeaseTTL/3 {
		return
	}
	until := time.Now().Add(s.m.cfg.LeaseTTL)
	s.lastSaveTry = time.Now()
	ok, err := s.m.registry.save(ctx, s.c, p, s.m.owner, until)
	if err != nil {
		s.m.log.Warn("sink: save progress", "cursor", s.c.key(), "err", err)
		if time.Now().After(s.leaseUntil) {
			s.stop = true // the lease may have passed to another process
		}
		return
	}
	if !ok {
		s.m.log.Info("sink: cursor taken over or removed; stopping", "cursor", s.c.key())
		s.stop = true
		return
	}
	s.leaseUntil, s.lastSavedAt = until, time.Now()
	s.unsaved = progress{position: p.position}
	s.m.reportReplay(ctx, s.c, &s.lastReport, p.completed)
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
