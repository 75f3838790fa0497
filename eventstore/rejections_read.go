package eventstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// ErrUnknownRejection is returned for a rejected webhook id the store does not hold.
var ErrUnknownRejection = errors.New("unknown rejected webhook")

// RejectionFilter narrows a read of the rejected webhooks.
type RejectionFilter struct {
	// Source, if set, keeps only this source's rejections.
	Source string
	// Before, if not zero, starts the page after this id (the previous page's last), going back.
	Before uuid.UUID
}

const rejectionColumns = `id, source, vendor, received_at, reason, raw, raw_sha256`

// ReadRejections returns up to limit rejected webhooks, newest first. Ids are UUIDv7, so id
// order is the order they were kept; each page walks the primary key, or (source, id) with a
// source, from the cursor.
func (s *Store) ReadRejections(ctx context.Context, f RejectionFilter, limit int) ([]domain.RejectedWebhook, error) {
	q := s.rejectionsQuery(f, limit)
	rows, err := s.reads.QueryContext(ctx, q.Query, q.Args...)
	if err != nil {
		return nil, fmt.Errorf("read rejected webhooks: %w", err)
	}
	defer rows.Close()
	var out []domain.RejectedWebhook
	for rows.Next() {
		r, err := scanRejection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rejected webhooks: %w", err)
	}
	return out, nil
}

// Rejection returns one rejected webhook, or ErrUnknownRejection.
func (s *Store) Rejection(ctx context.Context, id uuid.UUID) (domain.RejectedWebhook, error) {
	row := s.reads.QueryRowContext(ctx, `SELECT `+rejectionColumns+` FROM `+rejectionsTable+
		` WHERE id = `+s.dialect.bind(1), id.String())
	r, err := scanRejection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrUnknownRejection
	}
	return r, err
}

// lastID sorts after every UUIDv7 (its version digit is f): the cursor of a first page.
const lastID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

func (s *Store) rejectionsQuery(f RejectionFilter, limit int) wsql.Query {
	before := lastID
	if f.Before != uuid.Nil {
		before = f.Before.String()
	}
	b := s.dialect.bind
	q := `SELECT ` + rejectionColumns + ` FROM ` + rejectionsTable + ` WHERE id < ` + b(1) + ` ORDER BY id DESC LIMIT ` + b(2)
	args := []any{before, limit}
	if f.Source != "" {
		// source >= S AND (source, id) < (S, before) is source = S AND id < before, written as
		// ranges ordered as the index: PostgreSQL without statistics took source = S for a few
		// rows and sorted every row of the source rather than walk (source, id) backwards.
		q = `SELECT ` + rejectionColumns + ` FROM ` + rejectionsTable + ` WHERE source >= ` + b(1) +
			` AND (source, id) < (` + b(2) + `, ` + b(3) + `) ORDER BY source DESC, id DESC LIMIT ` + b(4)
		args = []any{f.Source, f.Source, before, limit}
	}
	return wsql.Query{Query: q, Args: args}
}

func scanRejection(row interface{ Scan(...any) error }) (domain.RejectedWebhook, error) {
	var (
		r            domain.RejectedWebhook
		id, received string
	)
	if err := row.Scan(&id, &r.Source, &r.Vendor, &received, &r.Reason, &r.Raw, &r.RawSHA256); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
		return r, fmt.Errorf("scan rejected webhook: %w", err)
	}
	var err error
	if r.ID, err = uuid.Parse(id); err != nil {
		return r, fmt.Errorf("rejected webhook id %q: %w", id, err)
	}
	if r.ReceivedAt, err = receivedTime(received); err != nil {
		return r, fmt.Errorf("received_at of rejected webhook %s: %w", id, err)
	}
	return r, nil
}
