package eventstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/google/uuid"
	"github.com/leadledger/leadledger/domain"
)

// The log is a hash chain: each event's hash covers the hash of the event before it and the
// event's own immutable fields, so changing, removing or reordering any stored event changes
// every hash after it. The first event's previous hash is 32 zero bytes.

// ChainHash is an event's hash given the previous event's: hex SHA-256 of the previous hash's
// 32 bytes followed by position, id, type, lead_id, source, received_at (RFC 3339, UTC) and
// raw_sha256, each as a 4-byte big-endian length and its UTF-8 text. Lengths keep two
// different events from ever encoding alike.
func ChainHash(prev string, e domain.Event) (string, error) {
	prevBytes, err := decodeHash(prev)
	if err != nil {
		return "", err
	}
	msg := make([]byte, 0, 512)
	msg = append(msg, prevBytes[:]...)
	for _, field := range [...]string{
		strconv.FormatInt(e.Position, 10), e.ID.String(), string(e.Type), e.LeadID.String(), e.Source,
		e.ReceivedAt.UTC().Format(time.RFC3339Nano), e.RawSHA256,
	} {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(field)))
		msg = append(msg, field...)
	}
	sum := sha256.Sum256(msg)
	return hex.EncodeToString(sum[:]), nil
}

// GenesisHash is the previous hash of the log's first event.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

func decodeHash(s string) (b [sha256.Size]byte, err error) {
	if len(s) == hex.EncodedLen(sha256.Size) {
		if _, err := hex.Decode(b[:], []byte(s)); err == nil {
			return b, nil
		}
	}
	return b, &BrokenChainError{What: "hash", Detail: "not 64 hex digits: " + strconv.Quote(s)}
}

// BrokenChainError says where the log fails to verify and what broke there.
type BrokenChainError struct {
	Position int64
	What     string // raw_sha256, hash, checkpoint
	Detail   string
}

func (e *BrokenChainError) Error() string {
	return "position " + strconv.FormatInt(e.Position, 10) + ": " + e.What + " does not verify: " + e.Detail
}

// chainStoredEvents gives every event stored before the chain existed its hash, in position
// order, a page at a time: the migration to the chain, inside its transaction.
func chainStoredEvents(ctx context.Context, tx *sql.Tx, s *Store) error {
	const page = 5000
	update, err := tx.PrepareContext(ctx, `UPDATE `+eventsTable+` SET hash = `+s.dialect.bind(1)+
		` WHERE "offset" = `+s.dialect.bind(2))
	if err != nil {
		return fmt.Errorf("chain stored events: %w", err)
	}
	defer update.Close()
	prev, after := GenesisHash, int64(0)
	for {
		events, err := readChain(ctx, tx, s, after, 0, page, false)
		if err != nil {
			return err
		}
		for _, e := range events {
			if prev, err = ChainHash(prev, e); err != nil {
				return err
			}
			if _, err := update.ExecContext(ctx, prev, e.Position); err != nil {
				return fmt.Errorf("chain event %d: %w", e.Position, err)
			}
			after = e.Position
		}
		if len(events) < page {
			return nil
		}
	}
}

// chainColumns are what an event's hash covers.
const chainColumns = `"offset", uuid, stream_id, event_type, source, received_at, raw_sha256`

// readChain reads a page of the chain's fields; with stored, the raw body as stored (sealed,
// for most events) and the hash too.
func readChain(ctx context.Context, q querier, s *Store, after, upTo int64, limit int, stored bool) ([]domain.Event, error) {
	columns := chainColumns
	if stored {
		columns += `, payload, hash`
	}
	query := s.pageQuery(columns, after, limit, Filter{UpTo: upTo})
	if upTo > 0 && upTo-after <= int64(limit) {
		query = s.rangeQuery(columns, after, upTo)
	}
	rows, err := q.QueryContext(ctx, query.Query, query.Args...)
	if err != nil {
		return nil, fmt.Errorf("read events after %d: %w", after, err)
	}
	defer rows.Close()
	out := make([]domain.Event, 0, min(limit, 10_000))
	for rows.Next() {
		var e domain.Event
		var id, lead, typ string
		var received any
		dest := []any{&e.Position, &id, &lead, &typ, &e.Source, &received, &e.RawSHA256}
		if stored {
			dest = append(dest, &e.Raw, &e.Hash)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read events after %d: %w", after, err)
		}
		if e.ID, e.LeadID, e.ReceivedAt, err = parseHeader(id, lead, received); err != nil {
			return nil, err
		}
		e.Type = domain.EventType(typ)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b domain.Event) int { return cmp.Compare(a.Position, b.Position) })
	return out, rows.Err()
}

// ReadHashes reads the positions and hashes of a page of events after a position: what the
// Merkle tree over the log needs.
func (s *Store) ReadHashes(ctx context.Context, after int64, limit int) ([]domain.Event, error) {
	query := s.pageQuery(`"offset", hash`, after, limit, Filter{})
	rows, err := s.reads.QueryContext(ctx, query.Query, query.Args...)
	if err != nil {
		return nil, fmt.Errorf("read hashes after %d: %w", after, err)
	}
	defer rows.Close()
	out := make([]domain.Event, 0, min(limit, 10_000))
	for rows.Next() {
		var e domain.Event
		if err := rows.Scan(&e.Position, &e.Hash); err != nil {
			return nil, fmt.Errorf("read hashes after %d: %w", after, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PositionOf is the position of the event with this id; domain.ErrNotFound if there is none.
func (s *Store) PositionOf(ctx context.Context, id uuid.UUID) (int64, error) {
	var position int64
	q := s.positionOfQuery(id)
	err := s.reads.QueryRowContext(ctx, q.Query, q.Args...).Scan(&position)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, domain.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("find event %s: %w", id, err)
	}
	return position, nil
}

// HashUpTo is the hash of the newest event at or before a position: the previous hash of the
// events after it. GenesisHash when there is none.
func (s *Store) HashUpTo(ctx context.Context, position int64) (string, error) {
	hash := GenesisHash
	q := s.hashUpToQuery(position)
	err := s.reads.QueryRowContext(ctx, q.Query, q.Args...).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read the hash at position %d: %w", position, err)
	}
	return hash, nil
}

func (s *Store) positionOfQuery(id uuid.UUID) wsql.Query {
	return wsql.Query{Query: `SELECT "offset" FROM ` + eventsTable + ` WHERE uuid = ` + s.dialect.bind(1), Args: []any{id.String()}}
}

func (s *Store) hashUpToQuery(position int64) wsql.Query {
	return wsql.Query{Query: `SELECT hash FROM ` + eventsTable + ` WHERE "offset" <= ` + s.dialect.bind(1) +
		` ORDER BY "offset" DESC LIMIT 1`, Args: []any{position}}
}
