package eventstore

import (
	"strings"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// The log's read queries, built apart from the reads that run them so that a test can EXPLAIN
// each one exactly as it runs (plans_test.go): every read must walk an index, never the log.

// eventColumns are read from their columns, and only the data from the metadata: decoding the
// whole metadata as well was a third of a read's CPU.
// The sealed ones (payload, the data) come with their lead's key (see lead_keys.go).
const eventColumns = `"offset", uuid, payload, stream_id, stream_version, event_type, source, vendor, received_at, occurred_at, raw_sha256, hash, ` + leadKeyColumn

func (s *Store) streamQuery(leadID uuid.UUID) wsql.Query {
	return wsql.Query{Query: `SELECT ` + eventColumns + `, ` + s.dialect.metadataData + ` FROM ` + eventsTable +
		` WHERE stream_id = ` + s.dialect.bind(1) + ` ORDER BY stream_version`, Args: []any{leadID.String()}}
}

// pageQuery reads a page of the log after a position, in position order.
func (s *Store) pageQuery(columns string, after int64, limit int, f Filter) wsql.Query {
	where, args := s.where(after, f)
	return wsql.Query{Query: `SELECT ` + columns + ` FROM ` + eventsTable + where +
		` ORDER BY "offset" LIMIT ` + s.dialect.bind(len(args)+1), Args: append(args, limit)}
}

// rangeQuery reads the events of a range of positions, in no order: it needs no LIMIT, and so
// no ORDER BY. Without table statistics PostgreSQL sorted each page of 5,000 events on disk
// (17 ms; 5.5 ms unsorted).
func (s *Store) rangeQuery(columns string, after, upTo int64) wsql.Query {
	return wsql.Query{Query: `SELECT ` + columns + ` FROM ` + eventsTable + ` WHERE "offset" > ` + s.dialect.bind(1) +
		` AND "offset" <= ` + s.dialect.bind(2), Args: []any{after, upTo}}
}

func (s *Store) readAllQuery(after int64, limit int, f Filter) wsql.Query {
	return s.pageQuery(eventColumns+`, `+s.dialect.metadataData, after, limit, f)
}

func (s *Store) envelopesQuery(after int64, limit int, f Filter) wsql.Query {
	return s.pageQuery(`"offset", uuid, stream_id, event_type, source, vendor, occurred_at, received_at, `+
		s.dialect.metadataData+`, `+leadKeyColumn, after, limit, f)
}

func (s *Store) leadPositionsQuery(after int64, limit int, f Filter) wsql.Query {
	return s.pageQuery(`"offset", stream_id`, after, limit, f)
}

func (s *Store) countQuery(after int64, f Filter) wsql.Query {
	where, args := s.where(after, f)
	return wsql.Query{Query: `SELECT COUNT(*) FROM ` + eventsTable + where, Args: args}
}

// where is the WHERE clause, with its arguments, of the events after a position that match f.
func (s *Store) where(after int64, f Filter) (string, []any) {
	where := []string{`"offset" > ` + s.dialect.bind(1)}
	args := []any{after}
	if len(f.Types) > 0 {
		where = append(where, `event_type IN (`+s.dialect.list(len(args)+1, len(f.Types))+`)`)
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	if len(f.Sources) > 0 {
		where = append(where, `source IN (`+s.dialect.list(len(args)+1, len(f.Sources))+`)`)
		for _, src := range f.Sources {
			args = append(args, src)
		}
	}
	if f.UpTo > 0 {
		where = append(where, `"offset" <= `+s.dialect.bind(len(args)+1))
		args = append(args, f.UpTo)
	}
	return ` WHERE ` + strings.Join(where, " AND "), args
}

// newestOfStreamQuery reads a lead's newest event: where, what and from which source.
func (s *Store) newestOfStreamQuery(leadID uuid.UUID) wsql.Query {
	return wsql.Query{Query: `SELECT "offset", event_type, source FROM ` + eventsTable +
		` WHERE stream_id = ` + s.dialect.bind(1) + ` ORDER BY stream_version DESC LIMIT 1`, Args: []any{leadID.String()}}
}

// erasurePositionQuery reads where a lead's first erasure after a position is: it walks the
// lead's own events, never the log.
func (s *Store) erasurePositionQuery(leadID uuid.UUID, after int64) wsql.Query {
	return wsql.Query{Query: `SELECT MIN("offset") FROM ` + eventsTable + ` WHERE stream_id = ` + s.dialect.bind(1) +
		` AND event_type = ` + s.dialect.bind(2) + ` AND "offset" > ` + s.dialect.bind(3),
		Args: []any{leadID.String(), string(domain.LeadErased), after}}
}

var headQuery = wsql.Query{Query: `SELECT MAX("offset") FROM ` + eventsTable}

func (s *Store) positionBeforeQuery(t time.Time) wsql.Query {
	if s.dialect.name == "sqlite" {
		// received_at is RFC 3339 text with a varying number of digits: compare it as a time.
		return wsql.Query{Query: `SELECT MIN("offset") FROM ` + eventsTable + ` WHERE julianday(received_at) >= julianday(?)`,
			Args: []any{t.UTC().Format(time.RFC3339Nano)}}
	}
	return wsql.Query{Query: `SELECT MIN("offset") FROM ` + eventsTable + ` WHERE received_at >= $1`, Args: []any{t.UTC()}}
}

func (s *Store) groupPositionQuery(group string) wsql.Query {
	return wsql.Query{Query: `SELECT offset_acked FROM ` + offsetsTable + ` WHERE consumer_group = ` + s.dialect.bind(1),
		Args: []any{group}}
}
