package sinks

import (
	"slices"
	"testing"
	"time"
)

// A save that failed leaves its progress to be saved with what came after it: nothing counted
// twice or lost, the identity map's rows and the dead letters' changes in the order they
// happened, the newer status and position winning.
func TestProgressThenKeepsAFailedSave(t *testing.T) {
	parked := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	failed := progress{position: 10, delivered: 3, failed: 1, written: 2, unchanged: 1,
		status: StatusFailing, lastError: "timeout", retryAt: &parked,
		synced:  []synced{{record: record{key: "a@x.test"}}, {record: record{key: "b@x.test"}}},
		letters: []letter{{item: "a@x.test"}, {item: "c@x.test", failure: &Failure{Item: "c@x.test"}}}}
	newer := progress{position: 20, delivered: 2, written: 1, status: StatusActive,
		synced:  []synced{{record: record{key: "c@x.test"}}},
		letters: []letter{{item: "c@x.test"}}}

	got := failed.then(newer)
	if got.position != 20 || got.delivered != 5 || got.failed != 1 || got.written != 3 || got.unchanged != 1 {
		t.Errorf("counts: position %d delivered %d failed %d written %d unchanged %d, want 20 5 1 3 1",
			got.position, got.delivered, got.failed, got.written, got.unchanged)
	}
	if got.status != StatusActive || got.lastError != "timeout" || got.retryAt != &parked {
		t.Errorf("status %q, last error %q, retry at %v: want the newer status, the older error and park", got.status, got.lastError, got.retryAt)
	}
	var keys, items []string
	for _, s := range got.synced {
		keys = append(keys, s.record.key)
	}
	for _, l := range got.letters {
		items = append(items, l.item)
	}
	if !slices.Equal(keys, []string{"a@x.test", "b@x.test", "c@x.test"}) || !slices.Equal(items, []string{"a@x.test", "c@x.test", "c@x.test"}) {
		t.Errorf("synced %v, letters %v: want the failed save's first, in order", keys, items)
	}
	if got.letters[1].failure == nil || got.letters[2].failure != nil {
		t.Error("c's rejection must come before its later resolution, so that the resolution wins")
	}
}
