package eventstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// sqliteSchema is a watermill-sql schema adapter for SQLite, which watermill-sql lacks.
// "offset" is an AUTOINCREMENT key, so offsets only grow, and SQLite's single writer commits
// them in order: a subscriber reads simply "offset" > acked.
type sqliteSchema struct {
	// positions are offsets reserved for messages by uuid; the others get the next rowid.
	positions map[string]int64
}

func (s sqliteSchema) withPositions(positions map[string]int64) wsql.SchemaAdapter {
	s.positions = positions
	return s
}

// sqliteBatchSize is small because a subscriber holds SQLite's write lock for its whole batch.
const sqliteBatchSize = 20

func (sqliteSchema) SchemaInitializingQueries(string) []wsql.Query {
	return []wsql.Query{
		{Query: `CREATE TABLE IF NOT EXISTS ` + eventsTable + ` (
			"offset" INTEGER PRIMARY KEY AUTOINCREMENT,
			uuid TEXT NOT NULL UNIQUE,
			created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
			payload BLOB NOT NULL,
			metadata TEXT NOT NULL,
			stream_id TEXT NOT NULL,
			stream_version INTEGER NOT NULL,
			event_type TEXT NOT NULL,
			source TEXT NOT NULL,
			vendor TEXT NOT NULL,
			received_at TEXT NOT NULL,
			occurred_at TEXT NOT NULL,
			raw_sha256 TEXT NOT NULL,
			UNIQUE (stream_id, stream_version)
		)`},
	}
}

func (s sqliteSchema) InsertQuery(topic string, msgs message.Messages) (wsql.Query, error) {
	args := make([]any, 0, len(msgs)*(argsPerMessage+1))
	for _, msg := range msgs {
		margs, err := insertArgs(msg)
		if err != nil {
			return wsql.Query{}, err
		}
		var offset any // NULL: SQLite picks the next rowid
		if pos, ok := s.positions[msg.UUID]; ok {
			offset = pos
		}
		args = append(append(args, offset), margs...)
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", argsPerMessage+1), ",") + ")"
	values := strings.TrimSuffix(strings.Repeat(row+",", len(msgs)), ",")
	query := `INSERT INTO ` + eventsTable + ` ("offset", uuid, payload, metadata, ` + extraColumns + `) VALUES ` + values
	return wsql.Query{Query: query, Args: args}, nil
}

func (sqliteSchema) SelectQuery(topic, consumerGroup string, offsets wsql.OffsetsAdapter) wsql.Query {
	next := offsets.NextOffsetQuery(topic, consumerGroup)
	return wsql.Query{
		Query: `SELECT "offset", uuid, payload, metadata, ` + leadKeyColumn + ` FROM ` + eventsTable +
			` WHERE "offset" > COALESCE((` + next.Query + `), 0) ORDER BY "offset" LIMIT ` +
			fmt.Sprint(sqliteBatchSize),
		Args: next.Args,
	}
}

// UnmarshalMessage reads a row of SelectQuery, its personal data opened with its lead's key.
func (sqliteSchema) UnmarshalMessage(row wsql.Scanner) (wsql.Row, error) {
	var r wsql.Row
	var key []byte
	if err := row.Scan(&r.Offset, &r.UUID, &r.Payload, &r.Metadata, &key); err != nil {
		return wsql.Row{}, fmt.Errorf("scan message row: %w", err)
	}
	return openRow(r, key)
}

// openRow makes a row's message, its personal data opened with its lead's key.
func openRow(r wsql.Row, key []byte) (wsql.Row, error) {
	msg := message.NewMessage(string(r.UUID), r.Payload)
	if err := json.Unmarshal(r.Metadata, &msg.Metadata); err != nil {
		return wsql.Row{}, fmt.Errorf("unmarshal metadata of message %s: %w", r.UUID, err)
	}
	if err := openMessage(msg, key); err != nil {
		return wsql.Row{}, err
	}
	r.Msg = msg
	return r, nil
}

// SubscribeIsolationLevel is the default: with _txlock=immediate every transaction takes the
// write lock at BEGIN, which is SQLite's stand-in for SELECT ... FOR UPDATE.
func (sqliteSchema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelDefault }

// sqliteOffsets keeps each consumer group's last acked offset.
type sqliteOffsets struct{}

func (sqliteOffsets) SchemaInitializingQueries(string) []wsql.Query {
	return []wsql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + offsetsTable + ` (
		consumer_group TEXT NOT NULL PRIMARY KEY,
		offset_acked INTEGER NOT NULL DEFAULT 0
	)`}}
}

func (sqliteOffsets) NextOffsetQuery(topic, consumerGroup string) wsql.Query {
	return wsql.Query{
		Query: `SELECT offset_acked FROM ` + offsetsTable + ` WHERE consumer_group = ?`,
		Args:  []any{consumerGroup},
	}
}

func (sqliteOffsets) AckMessageQuery(topic string, row wsql.Row, consumerGroup string) wsql.Query {
	return wsql.Query{
		Query: `INSERT INTO ` + offsetsTable + ` (consumer_group, offset_acked) VALUES (?, ?)
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`,
		Args: []any{consumerGroup, row.Offset},
	}
}

func (sqliteOffsets) ConsumedMessageQuery(string, wsql.Row, string, []byte) wsql.Query {
	return wsql.Query{}
}

func (sqliteOffsets) BeforeSubscribingQueries(topic, consumerGroup string) []wsql.Query {
	return []wsql.Query{{
		Query: `INSERT INTO ` + offsetsTable + ` (consumer_group, offset_acked) VALUES (?, 0)
			ON CONFLICT (consumer_group) DO NOTHING`,
		Args: []any{consumerGroup},
	}}
}
