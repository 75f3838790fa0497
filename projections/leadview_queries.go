package projections

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// ErrBadCursor is returned for a cursor this view did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// ErrNotCaughtUp is returned when the view does not reach a position in time.
var ErrNotCaughtUp = errors.New("the lead view has not reached that position yet")

// Lead returns the current view of one lead, or domain.ErrNotFound.
func (v *LeadView) Lead(ctx context.Context, id uuid.UUID) (domain.Lead, error) {
	return v.load(ctx, v.db, id.String())
}

// LeadsByID returns the current view of the leads with these ids; unknown ids are left out.
func (v *LeadView) LeadsByID(ctx context.Context, ids []uuid.UUID) ([]domain.Lead, error) {
	values := make([]string, len(ids))
	for i, id := range ids {
		values[i] = id.String()
	}
	var leads []domain.Lead
	err := v.loadWhere(ctx, v.db, "id", values, func(l domain.Lead) { leads = append(leads, l) })
	return leads, err
}

// LeadKey is what identifies a lead's person: its normalised email, and its source.
type LeadKey struct {
	ID              uuid.UUID
	EmailNormalized string
	Source          string
}

// LeadKeys returns the keys of the leads with these ids, without reading their state; unknown
// ids are left out.
func (v *LeadView) LeadKeys(ctx context.Context, ids []uuid.UUID) ([]LeadKey, error) {
	var out []LeadKey
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id.String()
		}
		rows, err := v.db.QueryContext(ctx, v.q(`SELECT id, email_normalized, source FROM lead_view WHERE id IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("read %d lead keys: %w", len(chunk), err)
		}
		for rows.Next() {
			var k LeadKey
			var id string
			if err := rows.Scan(&id, &k.EmailNormalized, &k.Source); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read lead keys: %w", err)
			}
			k.ID = uuid.MustParse(id)
			out = append(out, k)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("read lead keys: %w", err)
		}
	}
	return out, nil
}

// LeadsByEmail returns every lead whose normalised email is one of these (normalised) emails:
// the same people across vendors.
func (v *LeadView) LeadsByEmail(ctx context.Context, emails []string) ([]domain.Lead, error) {
	var leads []domain.Lead
	err := v.loadWhere(ctx, v.db, "email_normalized", emails, func(l domain.Lead) { leads = append(leads, l) })
	return leads, err
}

// LeadFilter selects leads. Empty fields match everything.
type LeadFilter struct {
	Email  string // matched normalised: the same person across vendors
	Source string
	Query  string // substring of name, email, phone or company, case-insensitive
	Limit  int
	Cursor string // from the previous page's next cursor
}

// Leads returns a page of leads in id order, and the cursor of the next page ("" at the end).
func (v *LeadView) Leads(ctx context.Context, f LeadFilter) ([]domain.Lead, string, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Cursor != "" {
		after, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if _, perr := uuid.ParseBytes(after); err != nil || perr != nil {
			return nil, "", ErrBadCursor
		}
		where, args = append(where, "id > ?"), append(args, string(after))
	}
	if f.Email != "" {
		where, args = append(where, "email_normalized = ?"), append(args, domain.NormalizeEmail(f.Email))
	}
	if f.Source != "" {
		where, args = append(where, "source = ?"), append(args, f.Source)
	}
	if f.Query != "" {
		where, args = append(where, `search LIKE ? ESCAPE '\'`), append(args, "%"+escapeLike(strings.ToLower(f.Query))+"%")
	}
	rows, err := v.db.QueryContext(ctx, v.q(`SELECT state FROM lead_view WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id LIMIT ?`), append(args, f.Limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list leads: %w", err)
	}
	defer rows.Close()
	var leads []domain.Lead
	for rows.Next() {
		var state string
		if err := rows.Scan(&state); err != nil {
			return nil, "", fmt.Errorf("scan lead: %w", err)
		}
		l, err := decodeLead(state)
		if err != nil {
			return nil, "", err
		}
		leads = append(leads, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list leads: %w", err)
	}
	next := ""
	if len(leads) > f.Limit {
		leads = leads[:f.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(leads[len(leads)-1].ID.String()))
	}
	return leads, next, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Outcome is what the view made of one event.
type Outcome struct {
	Applied    bool
	SkipReason domain.SkipReason
	Error      string // set when the event could not be applied
}

// Outcomes is what the view made of a lead's events.
type Outcomes struct {
	reached int64             // the view's position when they were read
	kept    map[int64]Outcome // the events that did not change the lead, by position
}

// Of is the outcome of the lead's event at a position. The view keeps a record of every event
// that did not change its lead (skipped or failed); an event it has reached without one
// changed it. One the view has not reached yet is not applied.
func (o Outcomes) Of(position int64) Outcome {
	if kept, ok := o.kept[position]; ok {
		return kept
	}
	return Outcome{Applied: position <= o.reached}
}

// Outcomes returns what the view made of each event of a lead.
func (v *LeadView) Outcomes(ctx context.Context, leadID uuid.UUID) (Outcomes, error) {
	// The position first: an event the view reached has its record committed with it.
	reached, err := v.Position(ctx)
	if err != nil {
		return Outcomes{}, err
	}
	rows, err := v.db.QueryContext(ctx, v.q(`SELECT position, applied, skip_reason, error FROM lead_view_events WHERE lead_id = ?`), leadID.String())
	if err != nil {
		return Outcomes{}, fmt.Errorf("read outcomes of %s: %w", leadID, err)
	}
	defer rows.Close()
	out := Outcomes{reached: reached, kept: map[int64]Outcome{}}
	for rows.Next() {
		var pos int64
		var o Outcome
		var reason, failure sql.NullString
		if err := rows.Scan(&pos, &o.Applied, &reason, &failure); err != nil {
			return Outcomes{}, fmt.Errorf("scan outcome: %w", err)
		}
		o.SkipReason, o.Error = domain.SkipReason(reason.String), failure.String
		out.kept[pos] = o
	}
	return out, rows.Err()
}

// Position is how far into the log the view has come.
func (v *LeadView) Position(ctx context.Context) (int64, error) {
	return v.store.GroupPosition(ctx, LeadViewGroup)
}

// FailedEvents counts the events recorded as failed to apply, by any process since the view
// was last rebuilt.
func (v *LeadView) FailedEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := v.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lead_view_events WHERE error IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count failed events: %w", err)
	}
	return n, nil
}

// WaitFor waits until the view has applied the log up to position, at most timeout.
func (v *LeadView) WaitFor(ctx context.Context, position int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pos, err := v.Position(ctx)
		if err != nil {
			return err
		}
		if pos >= position {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrNotCaughtUp
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// encodeLead writes a lead's state for its row, once per lead a batch or a catch-up chunk
// changes: go-json writes the same bytes as encoding/json (FuzzEncodeLead) at a third of the
// cost.
func encodeLead(l domain.Lead) ([]byte, error) { return gojson.Marshal(l) }

// decodeLead reads a lead's stored state. The state is the lead view's own encoding, read for
// every lead a fold or a CRM sink touches, so it takes go-json's decoder, a quarter of the
// standard library's cost (a 1.3 kB lead: 4 µs against 16).
func decodeLead(state string) (domain.Lead, error) {
	var l domain.Lead
	if err := gojson.Unmarshal([]byte(state), &l); err != nil {
		return domain.Lead{}, fmt.Errorf("decode lead: %w", err)
	}
	return l, nil
}
