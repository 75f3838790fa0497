package sinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Erasure in the sinks. A lead's personal data may be erased from the log (see
// eventstore.Store.Erase): its events then read back with no data, and a LeadErased event says
// when it happened.
//
//   - A webhook or NATS sink gets every event as before: an erased one with empty data and
//     "erased": true, and the LeadErased event itself, which tells the receiver to erase its
//     own copy.
//   - A CRM sink sends nothing for either: an erased event has nothing to write, and the
//     erasure deletes nothing in the CRM (the person's record there is the CRM owner's to
//     delete). Its identity map forgets the lead: the lead's links to records go, and a record
//     left with no lead goes too (its key is the person's email, its hash one of their
//     fields'); a record other leads still make no longer lists the lead and is written again
//     at their next change. The lead's dead letters go the same way.
//   - A lead that comes back after its erasure is a new lead to the CRM sinks.

// forget takes leads erased: the save forgets them in the identity map, before it writes the
// records synced since the last save. Those records were written, before the erasure, with
// the leads among theirs: they are saved without them, so that only what came after the
// erasure (the lead back with new data) links the lead again.
func (p *progress) forget(ids ...uuid.UUID) {
	if len(ids) == 0 {
		return
	}
	p.synced = withoutLeads(p.synced, ids)
	p.forgot = append(p.forgot, ids...)
}

// withoutLeads is written records, the erased leads taken out of them; a record of erased
// leads only is left out.
func withoutLeads(written []synced, erased []uuid.UUID) []synced {
	out := make([]synced, 0, len(written))
	for _, w := range written {
		kept := slices.DeleteFunc(slices.Clone(w.record.leadIDs), func(id uuid.UUID) bool { return slices.Contains(erased, id) })
		switch len(kept) {
		case len(w.record.leadIDs):
		case 0:
			continue
		default:
			// Its fields were merged from an erased lead's: no hash, so the next change of
			// its other leads writes it again.
			w.record.leadIDs, w.record.hash = kept, ""
		}
		out = append(out, w)
	}
	return out
}

// eventsFilter is what a sink in events mode delivers of a filter (its own, narrowed by a
// replay's): a CRM sink also gets every erasure, whatever types of event it takes, to forget
// the lead. (A record stream reads the erasures apart: see recordStream.erasures.)
func eventsFilter(s Sink, f Filter) Filter {
	if isCRM(s.Type) && s.Mode == ModeEvents {
		f.Types = withErasures(f.Types)
	}
	return f
}

// withErasures is a type filter with LeadErased added, unless it takes every type already.
func withErasures(types []domain.EventType) []domain.EventType {
	if len(types) == 0 || slices.Contains(types, domain.LeadErased) {
		return types
	}
	return append(slices.Clone(types), domain.LeadErased)
}

// forgetLeads makes a sink's identity map and dead letters forget erased leads, in a save's
// transaction: their links to records; the records no lead is linked to any more; the lead in
// the records and dead letters of other leads too (those records lose their hash, see
// withoutLeads); and the dead letters of no other lead.
func (r *Registry) forgetLeads(ctx context.Context, tx *sql.Tx, sinkID uuid.UUID, leads []uuid.UUID) error {
	leads = slices.Clone(leads)
	slices.SortFunc(leads, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	leads = slices.Compact(leads)
	var keys []string
	for chunk := range slices.Chunk(leads, 500) {
		args := []any{sinkID.String()}
		for _, id := range chunk {
			args = append(args, id.String())
		}
		where := ` WHERE sink_id = ? AND lead_id IN (` + placeholders(len(chunk)) + `)`
		linked, err := queryStrings(ctx, tx, r.q(`SELECT record_key FROM sink_record_leads`+where), args...)
		if err != nil {
			return fmt.Errorf("forget erased leads: read their records: %w", err)
		}
		keys = append(keys, linked...)
		if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM sink_record_leads`+where), args...); err != nil {
			return fmt.Errorf("forget erased leads: %w", err)
		}
	}
	slices.Sort(keys)
	for chunk := range slices.Chunk(slices.Compact(keys), 500) {
		args := []any{sinkID.String()}
		for _, k := range chunk {
			args = append(args, k)
		}
		if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM sink_records WHERE sink_id = ? AND record_key IN (`+placeholders(len(chunk))+`)
			AND NOT EXISTS (SELECT 1 FROM sink_record_leads l WHERE l.sink_id = sink_records.sink_id AND l.record_key = sink_records.record_key)`),
			args...); err != nil {
			return fmt.Errorf("forget the records of erased leads: %w", err)
		}
		if err := r.dropLeads(ctx, tx, leads, `sink_records`, `record_key`, `hash = ''`,
			`sink_id = ? AND record_key IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(leads, 100) { // dead letters name their leads in JSON only
		args := []any{sinkID.String(), FailureRecord}
		like := make([]string, len(chunk))
		for i, id := range chunk {
			like[i], args = `lead_ids LIKE ?`, append(args, `%"`+id.String()+`"%`)
		}
		if err := r.dropLeads(ctx, tx, leads, `sink_failures`, `item`, ``,
			`sink_id = ? AND kind = ? AND (`+strings.Join(like, ` OR `)+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// dropLeads takes erased leads out of the lead_ids of a table's rows that match where (whose
// first argument is the sink's id), keyed by column: a row left with no lead is deleted, the
// others are updated (with set too, when given).
func (r *Registry) dropLeads(ctx context.Context, tx *sql.Tx, erased []uuid.UUID, table, column, set, where string, args ...any) error {
	rows, err := tx.QueryContext(ctx, r.q(`SELECT `+column+`, lead_ids FROM `+table+` WHERE `+where), args...)
	if err != nil {
		return fmt.Errorf("forget erased leads in %s: %w", table, err)
	}
	kept := map[string][]uuid.UUID{}
	for rows.Next() {
		var key, ids string
		var leads []uuid.UUID
		if err := rows.Scan(&key, &ids); err != nil {
			rows.Close()
			return fmt.Errorf("forget erased leads in %s: %w", table, err)
		}
		_ = json.Unmarshal([]byte(ids), &leads) // unreadable: no lead is kept
		kept[key] = slices.DeleteFunc(leads, func(id uuid.UUID) bool { return slices.Contains(erased, id) })
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("forget erased leads in %s: %w", table, err)
	}
	if set != "" {
		set = `, ` + set
	}
	for _, key := range slices.Sorted(maps.Keys(kept)) {
		query, values := `DELETE FROM `+table+` WHERE sink_id = ? AND `+column+` = ?`, []any{args[0], key}
		if leads := kept[key]; len(leads) > 0 {
			ids, _ := json.Marshal(leads)
			query, values = `UPDATE `+table+` SET lead_ids = ?`+set+` WHERE sink_id = ? AND `+column+` = ?`, []any{string(ids), args[0], key}
		}
		if _, err := tx.ExecContext(ctx, r.q(query), values...); err != nil {
			return fmt.Errorf("forget erased leads in %s: %w", table, err)
		}
	}
	return nil
}

// queryStrings reads a query's single text column.
func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, s)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}
