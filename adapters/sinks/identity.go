package sinks

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// identity is what the identity map knows of a record in a CRM.
type identity struct {
	externalIDs map[string]string
	hash        string
}

// synced is a record the CRM accepted, for the identity map.
type synced struct {
	record  record
	outcome crm.Outcome
	at      time.Time
}

// RecordEntry is one record of a sink's identity map: which leads made it, what the CRM calls
// it, and the position (the newest event of its leads) that last synced it.
type RecordEntry struct {
	Key         string
	LeadIDs     []uuid.UUID
	ExternalID  string
	ExternalIDs map[string]string
	Position    int64
	SyncedAt    time.Time
}

// Destination is where a lead went: one CRM sink's record of it.
type Destination struct {
	SinkID     uuid.UUID
	Name       string
	RecordKey  string
	ExternalID string
	Position   int64
	SyncedAt   time.Time
}

// identities reads the identity map's entries for these records of a sink.
func (r *Registry) identities(ctx context.Context, sinkID uuid.UUID, keys []string) (map[string]identity, error) {
	out := make(map[string]identity, len(keys))
	for chunk := range slices.Chunk(keys, 500) {
		args := []any{sinkID.String()}
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`SELECT record_key, external_ids, hash FROM sink_records
			WHERE sink_id = ? AND record_key IN (`+placeholders(len(chunk))+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("read identity map: %w", err)
		}
		for rows.Next() {
			var key, ids string
			var id identity
			if err := rows.Scan(&key, &ids, &id.hash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read identity map: %w", err)
			}
			_ = json.Unmarshal([]byte(ids), &id.externalIDs)
			out[key] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read identity map: %w", err)
		}
	}
	return out, nil
}

// linkedKeys are the records the leads with these ids were last written into.
func (r *Registry) linkedKeys(ctx context.Context, sinkID uuid.UUID, leadIDs []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	for chunk := range slices.Chunk(leadIDs, 500) {
		args := []any{sinkID.String()}
		for _, id := range chunk {
			args = append(args, id.String())
		}
		rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`SELECT lead_id, record_key FROM sink_record_leads
			WHERE sink_id = ? AND lead_id IN (`+placeholders(len(chunk))+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("read the identity map's leads: %w", err)
		}
		for rows.Next() {
			var id, key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read the identity map's leads: %w", err)
			}
			out[uuid.MustParse(id)] = key
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("read the identity map's leads: %w", err)
		}
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// writeIdentities records written records in the identity map.
func (r *Registry) writeIdentities(ctx context.Context, tx *sql.Tx, sinkID uuid.UUID, written []synced) error {
	// A statement may not upsert one row twice: the last write of a record, and of a lead's
	// link, wins, in the order they were written.
	latest, order := map[string]synced{}, []string{}
	linked, leads := map[uuid.UUID]string{}, []uuid.UUID{}
	for _, w := range written {
		if _, ok := latest[w.record.key]; !ok {
			order = append(order, w.record.key)
		}
		latest[w.record.key] = w
		for _, id := range w.record.leadIDs {
			if _, ok := linked[id]; !ok {
				leads = append(leads, id)
			}
			linked[id] = w.record.key
		}
	}
	// In key order, neighbouring rows share the index's pages: each page is read and written
	// once per save, not once per row.
	slices.Sort(order)
	slices.SortFunc(leads, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	if err := r.upsert(ctx, tx, `sink_records (sink_id, record_key, lead_ids, external_id, external_ids, hash, position, synced_at)`,
		`(sink_id, record_key)`, `lead_ids = excluded.lead_ids, external_id = excluded.external_id,
		external_ids = excluded.external_ids, hash = excluded.hash, position = excluded.position, synced_at = excluded.synced_at`,
		len(order), func(i int) []any {
			w := latest[order[i]]
			members, _ := json.Marshal(w.record.leadIDs)
			ids, _ := json.Marshal(w.outcome.ExternalIDs)
			return []any{sinkID.String(), w.record.key, string(members), w.outcome.ExternalID, string(ids),
				w.record.hash, w.record.position, formatTime(w.at)}
		}); err != nil {
		return fmt.Errorf("write identity map: %w", err)
	}
	if err := r.upsert(ctx, tx, `sink_record_leads (lead_id, sink_id, record_key)`, `(lead_id, sink_id)`,
		`record_key = excluded.record_key`, len(leads), func(i int) []any {
			return []any{leads[i].String(), sinkID.String(), linked[leads[i]]}
		}); err != nil {
		return fmt.Errorf("write identity map: %w", err)
	}
	return nil
}

// upsert inserts n rows, each made by row(i) as it is sent, updating those whose conflict
// columns exist, in statements of 200 rows (both databases take ON CONFLICT ... DO UPDATE).
// The full-size statement is prepared once: parsing it again for every 200 rows cost more
// than the rows.
func (r *Registry) upsert(ctx context.Context, tx *sql.Tx, into, conflict, set string, n int, row func(i int) []any) error {
	const perStatement = 200
	statement := func(rows int, width int) string {
		values := strings.TrimSuffix(strings.Repeat("("+placeholders(width)+"), ", rows), ", ")
		return r.q(`INSERT INTO ` + into + ` VALUES ` + values + ` ON CONFLICT ` + conflict + ` DO UPDATE SET ` + set)
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			_ = full.Close()
		}
	}()
	for start := 0; start < n; start += perStatement {
		end := min(n, start+perStatement)
		var args []any
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		width := len(args) / (end - start)
		if end-start < perStatement {
			if _, err := tx.ExecContext(ctx, statement(end-start, width), args...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, statement(perStatement, width)); err != nil {
				return err
			}
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Records lists a sink's identity map in key order after a cursor, optionally the record of
// one lead only; the cursor of the next page is "" at the end.
func (r *Registry) Records(ctx context.Context, sinkID uuid.UUID, leadID *uuid.UUID, cursor string, limit int) ([]RecordEntry, string, error) {
	after, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, "", invalid("Invalid cursor")
	}
	query := `SELECT record_key, lead_ids, external_id, external_ids, position, synced_at FROM sink_records
		WHERE sink_id = ? AND record_key > ?`
	args := []any{sinkID.String(), string(after)}
	if leadID != nil {
		query += ` AND record_key IN (SELECT record_key FROM sink_record_leads WHERE lead_id = ? AND sink_id = ?)`
		args = append(args, leadID.String(), sinkID.String())
	}
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(query+` ORDER BY record_key LIMIT ?`), append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list records of sink %s: %w", sinkID, err)
	}
	defer rows.Close()
	var out []RecordEntry
	for rows.Next() {
		var e RecordEntry
		var leads, ids, at string
		if err := rows.Scan(&e.Key, &leads, &e.ExternalID, &ids, &e.Position, &at); err != nil {
			return nil, "", fmt.Errorf("read record: %w", err)
		}
		_ = json.Unmarshal([]byte(leads), &e.LeadIDs)
		_ = json.Unmarshal([]byte(ids), &e.ExternalIDs)
		e.SyncedAt = parseTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list records of sink %s: %w", sinkID, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[limit-1].Key))
	}
	return out, next, nil
}

// Destinations lists where a lead went: its record in every sink that wrote it.
func (r *Registry) Destinations(ctx context.Context, leadID uuid.UUID) ([]Destination, error) {
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(`SELECT s.id, s.name, l.record_key, rec.external_id, rec.position, rec.synced_at
		FROM sink_record_leads l
		JOIN sink_records rec ON rec.sink_id = l.sink_id AND rec.record_key = l.record_key
		JOIN sinks s ON s.id = l.sink_id
		WHERE l.lead_id = ? ORDER BY s.id`), leadID.String())
	if err != nil {
		return nil, fmt.Errorf("destinations of lead %s: %w", leadID, err)
	}
	defer rows.Close()
	out := []Destination{}
	for rows.Next() {
		var d Destination
		var id, at string
		if err := rows.Scan(&id, &d.Name, &d.RecordKey, &d.ExternalID, &d.Position, &at); err != nil {
			return nil, fmt.Errorf("destinations of lead %s: %w", leadID, err)
		}
		d.SinkID, d.SyncedAt = uuid.MustParse(id), parseTime(at)
		out = append(out, d)
	}
	return out, rows.Err()
}
