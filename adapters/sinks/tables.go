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
		// The identity map: what each record became in a CRM, the hash of the fields last
		// written (a write that changes none of them is not sent) and the position that synced it.
		`CREATE TABLE IF NOT EXISTS sink_records (
			sink_id TEXT NOT NULL,
			record_key TEXT NOT NULL,
			lead_ids TEXT NOT NULL,
			external_id TEXT NOT NULL,
			external_ids TEXT NOT NULL,
			hash TEXT NOT NULL,
			position BIGINT NOT NULL,
			synced_at TEXT NOT NULL,
			PRIMARY KEY (sink_id, record_key)
		)`,
		`CREATE TABLE IF NOT EXISTS sink_record_leads (
			lead_id TEXT NOT NULL,
			sink_id TEXT NOT NULL,
			record_key TEXT NOT NULL,
			PRIMARY KEY (lead_id, sink_id)
		)`,
		// Dead letters: a record a CRM rejected, or an event a receiver never acknowledged.
		`CREATE TABLE IF NOT EXISTS sink_failures (
			sink_id TEXT NOT NULL,
			item TEXT NOT NULL,
			kind TEXT NOT NULL,
			lead_ids TEXT NOT NULL,
			position BIGINT NOT NULL,
			error TEXT NOT NULL,
			attempts INTEGER NOT NULL,
			status TEXT NOT NULL,
			failed_at TEXT NOT NULL,
			PRIMARY KEY (sink_id, item)
		)`,
		`CREATE INDEX IF NOT EXISTS sink_failures_status ON sink_failures (sink_id, status, item)`,
	}
}

// addedColumns are columns later versions added to existing tables.
var addedColumns = []struct{ table, column, definition string }{
	{"sinks", "mode", "TEXT NOT NULL DEFAULT 'events'"},
	{"sinks", "record_key", "TEXT NOT NULL DEFAULT ''"},
	{"sinks", "config", "TEXT NOT NULL DEFAULT ''"},
	{"sinks", "mapping", "TEXT NOT NULL DEFAULT ''"},
	{"sinks", "rate_limit", "TEXT NOT NULL DEFAULT ''"},
	{"sinks", "retry_at", "TEXT"},
	{"sinks", "old_secret", "TEXT NOT NULL DEFAULT ''"},
	{"sinks", "old_secret_expires_at", "TEXT"},
	{"sink_attempts", "next_attempt_at", "TEXT"},
	{"sink_attempts", "manual", "BOOLEAN NOT NULL DEFAULT FALSE"},
	{"sink_replays", "only_changed", "BOOLEAN NOT NULL DEFAULT FALSE"},
	{"sink_replays", "records_written", "BIGINT NOT NULL DEFAULT 0"},
	{"sink_replays", "records_unchanged", "BIGINT NOT NULL DEFAULT 0"},
}

// addColumns adds the columns an older schema lacks (SQLite has no ADD COLUMN IF NOT EXISTS).
func (r *Registry) addColumns(ctx context.Context) error {
	for _, c := range addedColumns {
		has := func() bool {
			_, err := r.store.DB().ExecContext(ctx, `SELECT `+c.column+` FROM `+c.table+` WHERE 1 = 0`)
			return err == nil
		}
		if has() {
			continue
		}
		// Another process may add it between the probe and here: then it is there all the same.
		if _, err := r.store.DB().ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.definition); err != nil && !has() {
			return fmt.Errorf("migrate sinks: add %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// Migrate creates the sinks' tables and adds the columns added since; it is idempotent. On
// PostgreSQL all of it runs in one transaction under the migrations' lock, so processes starting
// together on a new database do not race; SQLite, which has no ADD COLUMN IF NOT EXISTS, adds
// the columns one by one after probing for them (its writes are serialised anyway).
func (r *Registry) Migrate(ctx context.Context) error {
	stmts := tables(r.store.Dialect())
	if r.store.Dialect() == "postgres" {
		for _, c := range addedColumns {
			stmts = append(stmts, `ALTER TABLE `+c.table+` ADD COLUMN IF NOT EXISTS `+c.column+` `+c.definition)
		}
	}
	if err := r.store.MigrateTables(ctx, "sinks", stmts); err != nil {
		return err
	}
	if r.store.Dialect() == "sqlite" {
		if err := r.addColumns(ctx); err != nil {
			return err
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
