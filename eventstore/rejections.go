package eventstore

import (
	"context"
	"fmt"
	"time"

	"github.com/leadledger/leadledger/domain"
)

const rejectionsTable = "ledger_rejected_webhooks"

// RecordRejection keeps an authenticated but invalid webhook as evidence. It is not an event:
// it is outside the log, and no projection or sink sees it.
func (s *Store) RecordRejection(ctx context.Context, r domain.RejectedWebhook) error {
	d := s.dialect
	_, err := s.db.ExecContext(ctx, `INSERT INTO `+rejectionsTable+
		` (id, source, vendor, received_at, reason, raw, raw_sha256) VALUES (`+d.list(1, 7)+`)`,
		r.ID.String(), r.Source, r.Vendor, r.ReceivedAt.Format(time.RFC3339Nano), r.Reason, r.Raw, r.RawSHA256)
	if err != nil {
		return fmt.Errorf("record rejected webhook from %s: %w", r.Source, err)
	}
	return nil
}

// CountRejections counts the rejected webhooks kept for a source.
func (s *Store) CountRejections(ctx context.Context, source string) (int, error) {
	var n int
	err := s.reads.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+rejectionsTable+` WHERE source = `+s.dialect.bind(1), source).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count rejected webhooks: %w", err)
	}
	return n, nil
}
