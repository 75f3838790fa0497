package sinks

import "context"

// takeRetries queues the dead letters a retry was asked for (live cursors only): each is
// delivered once more, beside the window. A retried event goes after its lead's later events:
// asking for it again is asking for exactly that.
func (s *stream) takeRetries(ctx context.Context) {
	if s.c.replay != nil || s.retrying > 0 {
		return
	}
	failures, err := s.m.registry.retrying(ctx, s.c.sink.ID, s.m.cfg.Concurrency*4)
	if err != nil {
		s.m.log.Warn("sink: read the dead letters to retry", "cursor", s.c.key(), "err", err)
		return
	}
	for _, f := range failures {
		p := &pending{retry: &f}
		if f.Kind == FailureEvent {
			events, err := s.m.store.ReadEnvelopes(ctx, f.Position-1, 1, s.filter)
			if err != nil {
				s.m.log.Warn("sink: read a dead letter's event", "cursor", s.c.key(), "position", f.Position, "err", err)
				return
			}
			if len(events) == 0 || events[0].Position != f.Position { // no longer matches the sink's filter
				s.unsaved.resolve(f.Item)
				continue
			}
			p.event = events[0]
		}
		s.retrying++
		s.ready = append(s.ready, p)
	}
}

// recordRetry takes the outcome of a dead letter's retry: resolved, or failed again.
func (s *stream) recordRetry(o outcome) {
	s.retrying--
	f := *o.p.retry
	if f.Kind == FailureEvent { // kept for auditors, as every attempt is
		a := Attempt{SinkID: s.c.sink.ID, EventID: o.p.event.ID, Position: f.Position, LeadID: o.p.event.LeadID,
			Number: f.Attempts + 1, StatusCode: o.res.statusCode, LatencyMS: float64(o.latency.Microseconds()) / 1000, AttemptedAt: o.at}
		if o.res.err != nil {
			a.Error = o.res.err.Error()
		}
		s.unsaved.attempts = append(s.unsaved.attempts, a)
	}
	switch {
	case o.res.err == nil:
		s.unsaved.resolve(f.Item)
		s.unsaved.forget(o.res.forgotten...)
		s.unsaved.wrote(o.res.synced...)
	default:
		f.Error, f.Attempts, f.FailedAt = o.res.err.Error(), 1, o.at
		if len(o.res.rejected) > 0 {
			f.Error = o.res.rejected[0].Error
		}
		s.unsaved.wrote(o.res.synced...)
		s.unsaved.reject(f)
	}
}
