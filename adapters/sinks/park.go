package sinks

import (
	"fmt"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// A CRM's daily limit parks its sink: failing, with retry_at, nothing sent until then.

// park holds a sink that hit a daily limit until retryAt, and says so.
func (s *recordStream) park(t *crm.Throttled) {
	s.retryAt = s.m.parkUntil()
	s.unsaved.status, s.unsaved.retryAt = StatusFailing, &s.retryAt
	s.unsaved.lastError = parkedError(t, s.retryAt)
	s.m.log.Warn("sink: daily limit reached; parked", "cursor", s.c.key(), "retry_at", s.retryAt.UTC())
}

// parkUntil is when a sink that hit a daily limit tries again: the next UTC midnight (when
// HubSpot's and Pipedrive's days end, near enough), at most DailyLimitPark away, as the CRM's
// day may end at another hour.
func (m *Manager) parkUntil() time.Time {
	now := time.Now().UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	if soon := now.Add(m.cfg.DailyLimitPark); soon.Before(midnight) {
		return soon
	}
	return midnight
}

func parkedError(t error, until time.Time) string {
	return fmt.Sprintf("daily API limit reached (%v); retrying at %s", t, until.UTC().Format(time.RFC3339))
}
