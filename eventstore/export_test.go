package eventstore

import (
	"context"
	"encoding/json"
	"fmt"
)

// Unseal rewrites a store as it was before events were sealed (schema version 2): every
// payload and data in plain text, no lead keys. The append-only triggers must be dropped first
// (eventstoretest.AllowTampering).
func Unseal(ctx context.Context, s *Store) error {
	events, err := s.ReadAll(ctx, 0, 100_000, Filter{})
	if err != nil {
		return err
	}
	setData := `json_set(metadata, '$.data', ?)`
	if s.dialect.name == "postgres" {
		setData = `jsonb_set(metadata::jsonb, '{data}', to_jsonb(?::text))::json`
	}
	for _, e := range events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return err
		}
		if _, err := s.db.ExecContext(ctx, s.Rebind(`UPDATE `+eventsTable+` SET payload = ?, metadata = `+setData+
			` WHERE "offset" = ?`), e.Raw, string(data), e.Position); err != nil {
			return fmt.Errorf("unseal event %d: %w", e.Position, err)
		}
	}
	for _, q := range []string{`DROP TABLE ` + leadKeysTable, `DELETE FROM ` + migrationsTable + ` WHERE version >= 3`} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
