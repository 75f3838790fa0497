package sinks

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// The sinks' tables, beside the log. A cursor row (a sink or a replay) carries a lease: the
// process whose lease it is delivers from it, and another takes over once it lapses.
func tables(dialect string) []string {
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if dialect == "postgres" {
		serial = "BIGSERIAL PRIMARY KEY"
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS sinks (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			type TEXT NOT NULL,
			url TEXT NOT NULL,
			secret TEXT NOT NULL,
			filter TEXT NOT NULL,
			status TEXT NOT NULL,
			position BIGINT NOT NULL,
			delivered BIGINT NOT NULL DEFAULT 0,
			failed BIGINT NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL,
			deleted_at TEXT,
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE IF NOT EXISTS sink_replays (
			id TEXT PRIMARY KEY,
			sink_id TEXT NOT NULL,
			status TEXT NOT NULL,
			from_position BIGINT NOT NULL,
			to_position BIGINT NOT NULL,
			filter TEXT NOT NULL,
			position BIGINT NOT NULL,
			total BIGINT NOT NULL,
			delivered BIGINT NOT NULL DEFAULT 0,
			failed BIGINT NOT NULL DEFAULT 0,
			created_at TEXT NOT NULL,
			finished_at TEXT,
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX IF NOT EXISTS sink_replays_sink ON sink_replays (sink_id, created_at)`,
		`CREATE TABLE IF NOT EXISTS sink_attempts (
			id ` + serial + `,
			sink_id TEXT NOT NULL,
			replay_id TEXT,
			event_id TEXT NOT NULL,
			position BIGINT NOT NULL,
			lead_id TEXT NOT NULL,
			attempt INTEGER NOT NULL,
			status_code INTEGER NOT NULL,
			latency_ms DOUBLE PRECISION NOT NULL,
			error TEXT NOT NULL,
			attempted_at TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS sink_attempts_sink ON sink_attempts (sink_id, id)`,
		`CREATE INDEX IF NOT EXISTS sink_attempts_event ON sink_attempts (sink_id, event_id)`,
		`CREATE INDEX IF NOT EXISTS sink_attempts_position ON sink_attempts (sink_id, position)`,
	}
}

// Migrate creates the sinks' tables; it is idempotent.
func (r *Registry) Migrate(ctx context.Context) error {
	for _, stmt := range tables(r.store.Dialect()) {
		if _, err := r.store.DB().ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate sinks: %w", err)
		}
	}
	return r.forgetDeletedCredentials(ctx)
}

// forgetDeletedCredentials makes sinks deleted by older versions forget their credentials too
// (see forget).
func (r *Registry) forgetDeletedCredentials(ctx context.Context) error {
	rows, err := r.store.ReadDB().QueryContext(ctx, `SELECT id, url, last_error FROM sinks WHERE deleted_at IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("find deleted sinks' credentials: %w", err)
	}
	var deleted []Sink
	for rows.Next() {
		var s Sink
		var id string
		if err := rows.Scan(&id, &s.URL, &s.LastError); err != nil {
			rows.Close()
			return fmt.Errorf("find deleted sinks' credentials: %w", err)
		}
		if s.ID = uuid.MustParse(id); s.URL != s.Origin() {
			deleted = append(deleted, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find deleted sinks' credentials: %w", err)
	}
	for _, s := range deleted {
		if err := r.forget(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
