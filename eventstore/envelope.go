package eventstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Envelope is an event as it is delivered onwards: its facts and its normalised data as
// stored, without the raw body. Reading envelopes skips decoding the data and the metadata,
// which was most of a delivery's CPU.
type Envelope struct {
	ID         uuid.UUID
	Type       domain.EventType
	Position   int64
	LeadID     uuid.UUID
	Source     string
	Vendor     string
	OccurredAt string
	ReceivedAt time.Time
	Data       json.RawMessage // domain.LeadData as JSON
	// Erased says the lead's personal data was erased: Data is empty.
	Erased bool
}

// ReadEnvelopes is ReadAll without the raw bodies, with the data left encoded.
func (s *Store) ReadEnvelopes(ctx context.Context, after int64, limit int, f Filter) ([]Envelope, error) {
	var out []Envelope
	err := s.readPages(ctx, after, limit, f, s.envelopesQuery, func(rows *sql.Rows) (int64, error) {
		e, err := scanEnvelope(rows)
		out = append(out, e)
		return e.Position, err
	})
	if err != nil {
		return nil, fmt.Errorf("read envelopes after %d: %w", after, err)
	}
	return out, nil
}

// ReadWithoutRaw is ReadAll without the raw bodies, versions and hashes: what a projection
// folds. Leaving the body out spares reading, decrypting and copying the largest column.
func (s *Store) ReadWithoutRaw(ctx context.Context, after int64, limit int, f Filter) ([]domain.Event, error) {
	var out []domain.Event
	err := s.readPages(ctx, after, limit, f, s.envelopesQuery, func(rows *sql.Rows) (int64, error) {
		env, err := scanEnvelope(rows)
		if err != nil {
			return 0, err
		}
		e := domain.Event{ID: env.ID, Type: env.Type, Position: env.Position, LeadID: env.LeadID, Source: env.Source,
			Vendor: env.Vendor, OccurredAt: env.OccurredAt, ReceivedAt: env.ReceivedAt, Erased: env.Erased}
		if err := decodeData(env.Data, &e.Data); err != nil {
			return 0, fmt.Errorf("data of event %s: %w", e.ID, err)
		}
		out = append(out, e)
		return e.Position, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return out, nil
}

// LeadPosition is which lead an event of the log is about.
type LeadPosition struct {
	Position int64
	LeadID   uuid.UUID
}

// ReadLeadPositions reads only the positions and leads of the events after a position: what a
// reader that needs the leads' state, not the events', looks at (a CRM sink).
func (s *Store) ReadLeadPositions(ctx context.Context, after int64, limit int, f Filter) ([]LeadPosition, error) {
	var out []LeadPosition
	err := s.readPages(ctx, after, limit, f, s.leadPositionsQuery, func(rows *sql.Rows) (int64, error) {
		var p LeadPosition
		var lead string
		if err := rows.Scan(&p.Position, &lead); err != nil {
			return 0, fmt.Errorf("scan lead position: %w", err)
		}
		id, err := uuid.Parse(lead)
		if err != nil {
			return 0, fmt.Errorf("event at %d: lead id %q: %w", p.Position, lead, err)
		}
		p.LeadID = id
		out = append(out, p)
		return p.Position, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read lead positions after %d: %w", after, err)
	}
	return out, nil
}

func scanEnvelope(rows *sql.Rows) (Envelope, error) {
	var e Envelope
	var id, lead, typ string
	var received any
	var d, key sql.RawBytes
	if err := rows.Scan(&e.Position, &id, &lead, &typ, &e.Source, &e.Vendor, &e.OccurredAt, &received, &d, &key); err != nil {
		return e, fmt.Errorf("scan envelope: %w", err)
	}
	var err error
	if e.ID, e.LeadID, e.ReceivedAt, err = parseHeader(id, lead, received); err != nil {
		return e, err
	}
	e.Type = domain.EventType(typ)
	data, erased, err := openOne(&domain.Event{ID: e.ID, Type: e.Type}, key, sealedData, d)
	if err != nil {
		return e, err
	}
	if e.Erased = erased; erased {
		data = []byte("{}")
	}
	e.Data = json.RawMessage(bytes.Clone(data)) // unsealed data is the driver's buffer, reused for the next row
	return e, nil
}

// receivedTime reads received_at: a timestamp on PostgreSQL, RFC 3339 text on SQLite.
func receivedTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(t))
	}
	return time.Time{}, fmt.Errorf("unexpected %T", v)
}
