package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// leadCache keeps the leads this process has folded, so applying an event reads nothing. It
// is only trusted while this process is the one advancing the group: every new subscriber
// transaction (a new batch) checks that the group's checkpoint is where the cache left it, which
// fails after a rolled-back batch or after another process took a turn.
type leadCache struct {
	tx      *sql.Tx
	applied int64 // the position of the last event folded into leads
	leads   map[uuid.UUID]domain.Lead
}

// maxCachedLeads bounds the cache; past it, it starts again empty. A cached lead weighs about
// 2 KB, most of it small maps the collector has to walk: 20,000 kept the heap near serve's
// 100 MiB soft memory limit, and a catch-up spent 40 % more CPU collecting than with 5,000
// (scripts/bench-all.sh, row 4). A catch-up chunk's leads (5,000 events) stay cached while it
// is written whatever this is: the bound applies when the next transaction begins.
const maxCachedLeads = 5_000

func (c *leadCache) join(ctx context.Context, tx *sql.Tx, v *LeadView) error {
	if c.tx == tx {
		return nil
	}
	checkpoint, err := v.store.GroupPositionIn(ctx, tx, LeadViewGroup)
	if err != nil {
		return err
	}
	if checkpoint != c.applied || c.leads == nil || len(c.leads) > maxCachedLeads {
		c.leads = map[uuid.UUID]domain.Lead{}
	}
	c.tx, c.applied = tx, checkpoint
	return nil
}

// forget drops the cached leads: the next batch reads them from the database again.
func (c *leadCache) forget() { c.leads, c.applied = map[uuid.UUID]domain.Lead{}, -1 }

// apply folds one event into its lead and records the outcome, all in one savepoint, so a
// failure leaves neither half behind (and on PostgreSQL does not abort the batch).
func (v *LeadView) apply(ctx context.Context, tx *sql.Tx, e domain.Event) error {
	lead, cached := v.cache.leads[e.LeadID]
	if !cached {
		var err error
		if lead, err = v.load(ctx, tx, e.LeadID.String()); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
	}
	lead, outcome := foldEvent(lead, e)
	var stmts []statement
	if !outcome.Applied { // only an event that did not change its lead is recorded: see Outcomes
		stmts = append(stmts, statement{insertOutcome, []any{e.Position, e.LeadID.String(), false, string(outcome.SkipReason), nil}})
	}
	switch {
	case !changesLead(outcome):
	case gone(lead):
		erased, err := v.erasedOutcomes(ctx, e.LeadID, e.Position)
		if err != nil {
			return err
		}
		stmts = append(append(stmts, statement{deleteLead, []any{e.LeadID.String()}}), erased...)
	default:
		row, err := newLeadRow(lead)
		if err != nil {
			return err
		}
		stmts = append(stmts, statement{upsertLead, row})
	}
	write := v.writeSQLite
	if v.dialect == "postgres" {
		write = v.writePostgres
	}
	if err := write(ctx, tx, stmts); err != nil {
		return fmt.Errorf("apply event %d: %w", e.Position, err)
	}
	if changesLead(outcome) {
		v.cache.leads[e.LeadID] = lead
	}
	v.cache.applied = e.Position
	return nil
}

// recordFailure notes that an event could not be applied, so the history shows it.
func (v *LeadView) recordFailure(ctx context.Context, tx *sql.Tx, position int64, leadID string, cause error) error {
	if position == 0 {
		return nil // not even its position is readable: the log line is all there is
	}
	write := v.writeSQLite
	if v.dialect == "postgres" {
		write = v.writePostgres
	}
	if err := write(ctx, tx, []statement{{insertOutcome, []any{position, leadID, false, nil, textColumn(cause.Error())}}}); err != nil {
		return err
	}
	v.cache.applied = position
	return nil
}

// leadRow is a lead as the lead_view table stores it.
type leadRow []any // id, source, email_normalized, search, last_position, state

func newLeadRow(l domain.Lead) (leadRow, error) {
	state, err := encodeLead(l)
	if err != nil {
		return nil, fmt.Errorf("encode lead %s: %w", l.ID, err)
	}
	search := strings.ToLower(strings.Join([]string{l.FirstName, l.LastName, l.Name, l.Email, l.Phone, l.Company}, "\n"))
	return leadRow{l.ID.String(), textColumn(l.Source), textColumn(l.EmailNormalized), textColumn(search), l.LastPosition, string(state)}, nil
}

// textColumn makes a value storable in PostgreSQL's text, which cannot hold a NUL: it becomes
// U+FFFD. Only the searched columns are touched; the lead's state keeps the exact value (JSON
// escapes a NUL), and a search for a NUL is refused before it gets here.
func textColumn(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

const (
	upsertLead = `INSERT INTO lead_view (id, source, email_normalized, search, last_position, state)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET source = excluded.source, email_normalized = excluded.email_normalized,
			search = excluded.search, last_position = excluded.last_position, state = excluded.state`
	insertOutcome = `INSERT INTO lead_view_events (position, lead_id, applied, skip_reason, error)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`
)

// writeSQLite runs one event's statements (its outcome, its lead's row) in a savepoint;
// SQLite runs in-process, so each statement costs no round trip.
func (v *LeadView) writeSQLite(ctx context.Context, tx *sql.Tx, stmts []statement) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT lead_view"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	err := v.exec(ctx, tx, stmts)
	if err == nil {
		_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT lead_view")
	}
	if err != nil {
		_, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT lead_view")
		return errors.Join(err, rbErr)
	}
	return nil
}

// writePostgres sends the savepoint, the event's statements and the release as one simple
// query: every round trip inside the subscriber's transaction is paid per event. The values
// are inlined as escaped literals (simple queries take no parameters).
func (v *LeadView) writePostgres(ctx context.Context, tx *sql.Tx, stmts []statement) error {
	queries := []string{"SAVEPOINT lead_view"}
	for _, st := range stmts {
		for _, arg := range st.args {
			if s, ok := arg.(string); ok && strings.ContainsRune(s, 0) {
				// It would end the query text early on the wire; PostgreSQL cannot store it anyway.
				return errors.New("a value contains a NUL character, which PostgreSQL text cannot hold")
			}
		}
		queries = append(queries, inline(st.query, st.args))
	}
	queries = append(queries, "RELEASE SAVEPOINT lead_view")
	if _, err := tx.ExecContext(ctx, strings.Join(queries, ";\n")); err != nil {
		_, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT lead_view")
		return errors.Join(err, rbErr)
	}
	return nil
}

// inline replaces each ? of a query with its value as a PostgreSQL literal.
func inline(query string, args []any) string {
	var b strings.Builder
	for _, part := range strings.SplitAfter(query, "?") {
		if !strings.HasSuffix(part, "?") || len(args) == 0 {
			b.WriteString(part)
			continue
		}
		b.WriteString(strings.TrimSuffix(part, "?"))
		b.WriteString(pgLiteral(args[0]))
		args = args[1:]
	}
	return b.String()
}

func pgLiteral(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case bool:
		return fmt.Sprint(v)
	case int64:
		return fmt.Sprint(v)
	case string:
		// An escape string: only backslash and quote need escaping in it.
		return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	default:
		return pgLiteral(fmt.Sprint(v))
	}
}

// querier is what both *sql.DB and *sql.Tx offer for reads.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadMany reads the stored view of several leads in one query; leads not in the view are
// left out.
func (v *LeadView) loadMany(ctx context.Context, tx *sql.Tx, ids []string) (map[uuid.UUID]domain.Lead, error) {
	leads := make(map[uuid.UUID]domain.Lead, len(ids))
	err := v.loadWhere(ctx, tx, "id", ids, func(l domain.Lead) { leads[l.ID] = l })
	return leads, err
}

// loadWhere reads the leads whose column has one of the values, in queries of 500 values.
func (v *LeadView) loadWhere(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, column string, values []string, each func(domain.Lead)) error {
	for chunk := range slices.Chunk(values, 500) {
		args := make([]any, len(chunk))
		for i, value := range chunk {
			args[i] = value
		}
		rows, err := q.QueryContext(ctx, v.q(`SELECT state FROM lead_view WHERE `+column+` IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`), args...)
		if err != nil {
			return fmt.Errorf("load %d leads: %w", len(chunk), err)
		}
		for rows.Next() {
			var state string
			if err := rows.Scan(&state); err != nil {
				_ = rows.Close()
				return fmt.Errorf("load leads: %w", err)
			}
			lead, err := decodeLead(state)
			if err != nil {
				_ = rows.Close()
				return err
			}
			each(lead)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("load leads: %w", err)
		}
	}
	return nil
}

func (v *LeadView) load(ctx context.Context, q querier, id string) (domain.Lead, error) {
	var state string
	err := q.QueryRowContext(ctx, v.q(`SELECT state FROM lead_view WHERE id = ?`), id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Lead{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Lead{}, fmt.Errorf("load lead %s: %w", id, err)
	}
	return decodeLead(state)
}
