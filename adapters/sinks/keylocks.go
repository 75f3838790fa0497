package sinks

import (
	"context"
	"slices"
	"sync"
)

// keyLocks serialise the writes of a record within this process (a sink's live cursor and its
// replays may touch the same record): whoever writes it second reads its state second, so a
// CRM never gets an older state after a newer one.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when released
}

// lock takes every name, in sorted order so that two batches never wait on each other; the
// returned func releases them.
func (k *keyLocks) lock(ctx context.Context, names []string) (func(), error) {
	names = slices.Sorted(slices.Values(names))
	names = slices.Compact(names)
	var taken []string
	release := func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, n := range taken {
			close(k.held[n])
			delete(k.held, n)
		}
	}
	for _, n := range names {
		for {
			k.mu.Lock()
			if k.held == nil {
				k.held = map[string]chan struct{}{}
			}
			busy, ok := k.held[n]
			if !ok {
				k.held[n] = make(chan struct{})
				k.mu.Unlock()
				taken = append(taken, n)
				break
			}
			k.mu.Unlock()
			select {
			case <-busy:
			case <-ctx.Done():
				release()
				return nil, ctx.Err()
			}
		}
	}
	return release, nil
}
