package projections

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Erasure in the lead view. The log keeps an erased lead's events, but their personal data
// reads back empty (see eventstore.Store.Erase), and the view must forget the person too:
//
//   - a LeadErased event removes its lead from the view (its row is deleted, so lookups and
//     searches no longer find it); it counts as applied;
//   - an event read erased changes no lead and makes none: it is recorded as skipped, erased;
//   - when the view reaches a LeadErased event, the lead's earlier events are recorded as
//     skipped, erased, whatever they did when they were folded, so the live view reads as a
//     rebuild does (a rebuild reads them erased);
//   - an event of the lead after its erasure (the person came back through a vendor) makes a
//     fresh lead from its own data.

// foldEvent is domain.Apply as the view folds the log, erasure included. The lead it returns
// is gone (see gone) when the event removed it.
func foldEvent(l domain.Lead, e domain.Event) (domain.Lead, domain.Outcome) {
	switch {
	case e.Type == domain.LeadErased:
		return domain.Lead{}, domain.Outcome{Applied: true}
	case e.Erased:
		return l, domain.Outcome{SkipReason: domain.SkipErased}
	}
	return domain.Apply(l, e)
}

// gone reports whether a folded lead is not in the view: erased, or never made. The cache
// keeps a gone lead as this zero value, with no personal data, rather than leaving it out: a
// lead left out is read again from lead_view, which may still hold the row that a batch not yet
// written has erased.
func gone(l domain.Lead) bool { return l.ID == uuid.Nil }

// changesLead reports whether a fold's lead must be written: an event read erased leaves its
// lead exactly as it was.
func changesLead(o domain.Outcome) bool { return o.SkipReason != domain.SkipErased }

// statement is one SQL statement, ? placeholders, and its arguments.
type statement struct {
	query string
	args  []any
}

const deleteLead = `DELETE FROM lead_view WHERE id = ?`

// erasedRowsPerInsert keeps an erasure's INSERT well under SQLite's placeholder limit.
const erasedRowsPerInsert = 500

// erasedOutcomes are the statements that record every event of a lead before its erasure at a
// position as skipped, erased (the erasures themselves stay applied). Their positions come from
// the log: the view keeps no record of the events that changed their lead.
func (v *LeadView) erasedOutcomes(ctx context.Context, leadID uuid.UUID, erasure int64) ([]statement, error) {
	events, err := v.store.ReadStream(ctx, leadID)
	if err != nil {
		return nil, fmt.Errorf("lead view: read the history of erased lead %s: %w", leadID, err)
	}
	var positions []int64
	for _, e := range events {
		if e.Position < erasure && e.Type != domain.LeadErased {
			positions = append(positions, e.Position)
		}
	}
	stmts := []statement{{`DELETE FROM lead_view_events WHERE lead_id = ? AND position < ?`, []any{leadID.String(), erasure}}}
	for chunk := range slices.Chunk(positions, erasedRowsPerInsert) {
		var args []any
		for _, p := range chunk {
			args = append(args, p, leadID.String(), false, string(domain.SkipErased), nil)
		}
		stmts = append(stmts, statement{`INSERT INTO lead_view_events (position, lead_id, applied, skip_reason, error) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?),", len(chunk)), ","), args})
	}
	return stmts, nil
}

// exec runs statements in tx, one by one.
func (v *LeadView) exec(ctx context.Context, tx *sql.Tx, stmts []statement) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, v.q(s.query), s.args...); err != nil {
			return err
		}
	}
	return nil
}
