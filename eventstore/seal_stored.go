package eventstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// leadKeysTableSQL creates leadKeysTable.
func (s *Store) leadKeysTableSQL() string {
	if s.dialect.name == "postgres" {
		return `CREATE TABLE IF NOT EXISTS ` + leadKeysTable + ` (lead_id UUID PRIMARY KEY, lead_key BYTEA NOT NULL)`
	}
	return `CREATE TABLE IF NOT EXISTS ` + leadKeysTable + ` (lead_id TEXT PRIMARY KEY, lead_key BLOB NOT NULL) WITHOUT ROWID`
}

// sealStoredEvents seals the personal data of every event stored before events were sealed,
// once, in the migration that begins sealing: the only change ever made to stored events, with
// the append-only triggers lifted inside the migration's transaction and put back before it
// commits. Only the payload and the data change; what the chain covers does not.
func sealStoredEvents(ctx context.Context, tx *sql.Tx, s *Store) error {
	for _, stmt := range s.dialect.allowChange {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("seal stored events: %w", err)
		}
	}
	update, err := tx.PrepareContext(ctx, `UPDATE `+eventsTable+` SET payload = `+s.dialect.bind(1)+
		`, metadata = `+s.dialect.bind(2)+` WHERE "offset" = `+s.dialect.bind(3))
	if err != nil {
		return fmt.Errorf("seal stored events: %w", err)
	}
	defer update.Close()
	keys := map[uuid.UUID][]byte{}
	const page = 5000
	for after := int64(0); ; {
		rows, err := s.readUnsealed(ctx, tx, after, page)
		if err != nil {
			return err
		}
		for _, r := range rows {
			after = r.position
			payload, metadata, err := r.seal(keys)
			if err != nil {
				return err
			}
			if _, err := update.ExecContext(ctx, payload, metadata, r.position); err != nil {
				return fmt.Errorf("seal event %d: %w", r.position, err)
			}
		}
		if len(rows) < page {
			break
		}
	}
	if err := s.writeKeyChanges(ctx, txSession{Tx: tx, ctx: ctx}, nil, keys); err != nil {
		return err
	}
	for _, stmt := range s.dialect.appendOnly {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("make the log append-only again: %w", err)
		}
	}
	return nil
}

// unsealedRow is a stored event as it was before sealing.
type unsealedRow struct {
	position int64
	event    domain.Event // its id, type and lead
	payload  []byte
	metadata []byte
}

func (s *Store) readUnsealed(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]unsealedRow, error) {
	var out []unsealedRow
	err := queryEach(ctx, tx, `SELECT "offset", uuid, stream_id, event_type, payload, metadata FROM `+eventsTable+
		` WHERE "offset" > `+s.dialect.bind(1)+` ORDER BY "offset" LIMIT `+s.dialect.bind(2), []any{after, limit},
		func(rows *sql.Rows) error {
			var r unsealedRow
			var typ string
			if err := rows.Scan(&r.position, &r.event.ID, &r.event.LeadID, &typ, &r.payload, &r.metadata); err != nil {
				return fmt.Errorf("read events to seal: %w", err)
			}
			r.event.Type = domain.EventType(typ)
			out = append(out, r)
			return nil
		})
	return out, err
}

// seal returns the row's payload and metadata sealed under its lead's key, made if keys has none.
func (r unsealedRow) seal(keys map[uuid.UUID][]byte) (payload []byte, metadata string, err error) {
	if !sealed(r.event.Type) {
		return r.payload, string(r.metadata), nil
	}
	stored, ok := keys[r.event.LeadID]
	var k leadKey
	if ok {
		k, err = parseLeadKey(stored)
	} else {
		k, stored, err = newLeadKey()
		keys[r.event.LeadID] = stored
	}
	if err != nil {
		return nil, "", err
	}
	var md map[string]string
	if err := json.Unmarshal(r.metadata, &md); err != nil {
		return nil, "", fmt.Errorf("seal event %d: its metadata: %w", r.position, err)
	}
	md[MetaData] = base64.StdEncoding.EncodeToString(k.seal(r.event.ID, sealedData, []byte(md[MetaData])))
	out, err := json.Marshal(md)
	if err != nil {
		return nil, "", fmt.Errorf("seal event %d: %w", r.position, err)
	}
	return k.seal(r.event.ID, sealedRaw, r.payload), string(out), nil
}
