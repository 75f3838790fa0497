package projections

import (
	"context"

	"github.com/leadledger/leadledger/eventstore"
)

// LeadViewGroup is the lead view's consumer group. Stored: never rename.
const LeadViewGroup = "lead_view"

// The lead view's tables. lead_view holds each lead's state as JSON plus the columns it is
// searched by; lead_view_events records each event that did not change its lead (skipped, and
// why, or failed): an event the view has reached without a record changed it. (Views written
// before kept a record of every event, applied ones too; they read the same.)
var leadViewTables = []string{
	`CREATE TABLE IF NOT EXISTS lead_view (
		id TEXT PRIMARY KEY,
		source TEXT NOT NULL,
		email_normalized TEXT NOT NULL,
		search TEXT NOT NULL,
		last_position BIGINT NOT NULL,
		state TEXT NOT NULL
	)`,
	// (email, id) serves a lookup and its ORDER BY id together: with email alone, PostgreSQL
	// without fresh statistics walked the primary key instead (670 ms at 200k leads).
	`CREATE INDEX IF NOT EXISTS lead_view_email_id ON lead_view (email_normalized, id)`,
	`DROP INDEX IF EXISTS lead_view_email`,
	`CREATE INDEX IF NOT EXISTS lead_view_source ON lead_view (source, id)`,
	`CREATE TABLE IF NOT EXISTS lead_view_events (
		position BIGINT PRIMARY KEY,
		lead_id TEXT NOT NULL,
		applied BOOLEAN NOT NULL,
		skip_reason TEXT,
		error TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS lead_view_events_lead ON lead_view_events (lead_id, position)`,
	// /v1/status counts the failed events: without it, each call counted the whole table.
	`CREATE INDEX IF NOT EXISTS lead_view_events_failed ON lead_view_events (position) WHERE error IS NOT NULL`,
	leasesTable,
}

// postgresLeadViewTables follow leadViewTables on PostgreSQL. Every event rewrites its lead's
// row: room left in each page lets the new version stay on its page without touching the
// indexes (a HOT update), which made catching up on a backlog about a fifth faster.
var postgresLeadViewTables = []string{
	`ALTER TABLE lead_view SET (fillfactor = 70)`,
}

// MigrateLeadView creates the lead view's tables beside the log; it is idempotent.
func MigrateLeadView(ctx context.Context, store *eventstore.Store) error {
	stmts := leadViewTables
	if store.Dialect() == "postgres" {
		stmts = append(stmts[:len(stmts):len(stmts)], postgresLeadViewTables...)
	}
	return store.MigrateTables(ctx, "lead view", stmts)
}
