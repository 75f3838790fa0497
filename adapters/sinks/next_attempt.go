package sinks

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// withoutStoppedRetries clears the next attempt of attempts whose cursor no longer delivers:
// a sink paused, disabled or deleted, or a replay finished or cancelled retries nothing.
func (r *Registry) withoutStoppedRetries(ctx context.Context, sinkID uuid.UUID, attempts []Attempt) ([]Attempt, error) {
	var status string
	var deleted bool
	err := r.store.ReadDB().QueryRowContext(ctx, r.q(`SELECT status, deleted_at IS NOT NULL FROM sinks WHERE id = ?`), sinkID.String()).
		Scan(&status, &deleted)
	if err != nil {
		return nil, fmt.Errorf("read the status of sink %s: %w", sinkID, err)
	}
	sinkRuns := !deleted && (Status(status) == StatusActive || Status(status) == StatusFailing)
	replayRuns := map[uuid.UUID]bool{}
	for i, a := range attempts {
		if a.NextAttemptAt == nil {
			continue
		}
		runs := sinkRuns
		if a.ReplayID != nil && runs {
			known, seen := replayRuns[*a.ReplayID]
			if !seen {
				rp, err := r.Replay(ctx, *a.ReplayID)
				if err != nil {
					return nil, err
				}
				known = rp.Status == ReplayRunning
				replayRuns[*a.ReplayID] = known
			}
			runs = known
		}
		if !runs {
			attempts[i].NextAttemptAt = nil
		}
	}
	return attempts, nil
}
