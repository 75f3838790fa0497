package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The lead view is folded by one process at a time, the one holding its lease; the others
// wait and take over within a lease's time once it lapses (a process killed, or cut off from
// the database). The group's row lock already keeps two folders from applying an event twice;
// the lease spares the others the work and tells /v1/status who holds the view.
const leasesTable = `CREATE TABLE IF NOT EXISTS projection_leases (
	name TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	until_ms BIGINT NOT NULL
)`

// leaseTTL is how long a lease lasts unless renewed; it is renewed every third of it.
var leaseTTL = 5 * time.Second

// Holder is the process holding a lease, and until when, if it is not renewed.
type Holder struct {
	Owner string
	Until time.Time
}

// Run folds the log into the view until ctx is done, while this process holds the view's
// lease; without it, it waits for the lease to lapse.
func (v *LeadView) Run(ctx context.Context) error {
	defer v.releaseLease()
	for ctx.Err() == nil {
		held, err := v.takeLease(ctx)
		if err != nil {
			return err
		}
		if held {
			if err := v.runHolding(ctx); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(leaseTTL / 5):
		}
	}
	return nil
}

// runHolding folds the log, in chunks while it is far behind (see catchUp), then batch by batch
// as watermill's subscriber of the group delivers it, until ctx is done or the lease is lost.
func (v *LeadView) runHolding(ctx context.Context) error {
	holding, lost := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() { defer close(renewed); v.renewLease(holding, lost) }()
	defer func() { lost(); <-renewed }()
	for holding.Err() == nil {
		if err := v.catchUp(holding); err != nil && holding.Err() == nil {
			return err
		}
		if err := v.follow(holding); err != nil && holding.Err() == nil {
			return err
		}
	}
	return nil
}

// renewLease renews the lease every third of its time, and calls lost once it is another's,
// or once it has lapsed while the database did not answer.
func (v *LeadView) renewLease(ctx context.Context, lost context.CancelFunc) {
	until := time.Now().Add(leaseTTL)
	ticker := time.NewTicker(leaseTTL / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		held, err := v.takeLease(ctx)
		switch {
		case err == nil && held:
			until = time.Now().Add(leaseTTL)
			continue
		case err == nil:
			v.log.Warn("lead view: another process took its lease; this one stops folding")
		case time.Now().Before(until):
			continue // the database may answer again before the lease lapses
		default:
			v.log.Warn("lead view: its lease lapsed while the database did not answer", "err", err)
		}
		lost()
		return
	}
}

// takeLease takes the view's lease, or renews it, unless another process holds it.
func (v *LeadView) takeLease(ctx context.Context) (bool, error) {
	now := time.Now()
	res, err := v.store.DB().ExecContext(ctx, v.q(`INSERT INTO projection_leases (name, owner, until_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
		WHERE projection_leases.owner = excluded.owner OR projection_leases.until_ms < ?`),
		LeadViewGroup, v.store.Instance(), now.Add(leaseTTL).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("lead view: take its lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lead view: take its lease: %w", err)
	}
	return n == 1, nil
}

// releaseLease lets another process take over at once, rather than after the lease lapses.
func (v *LeadView) releaseLease() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = v.store.DB().ExecContext(ctx, v.q(`UPDATE projection_leases SET until_ms = 0 WHERE name = ? AND owner = ?`),
		LeadViewGroup, v.store.Instance())
}

// Holder is the process folding the view, if any holds its lease now.
func (v *LeadView) Holder(ctx context.Context) (Holder, bool, error) {
	var h Holder
	var until int64
	err := v.db.QueryRowContext(ctx, v.q(`SELECT owner, until_ms FROM projection_leases WHERE name = ?`), LeadViewGroup).
		Scan(&h.Owner, &until)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Holder{}, false, fmt.Errorf("lead view: read its lease: %w", err)
	}
	h.Until = time.UnixMilli(until)
	return h, err == nil && h.Until.After(time.Now()), nil
}
