package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// table is a table the view writes many rows of at once.
type table struct {
	name    string
	columns []string
	pgTypes []string // the columns' PostgreSQL types, for unnest
}

var (
	leadRows = table{name: "lead_view",
		columns: []string{"id", "source", "email_normalized", "search", "last_position", "state"},
		pgTypes: []string{"text", "text", "text", "text", "bigint", "text"}}
	outcomeRows = table{name: "lead_view_events",
		columns: []string{"position", "lead_id", "applied", "skip_reason", "error"},
		pgTypes: []string{"bigint", "text", "boolean", "text", "text"}}
)

// rowsPerInsert keeps an INSERT's placeholders well under SQLite's limit (32,766), and on
// PostgreSQL its array parameters to a few megabytes: a rebuild's one INSERT of every lead
// grew its arguments with the view (a third of its time went to copying them).
var rowsPerInsert = map[string]int{"sqlite": 500, "postgres": 5000}

// bulkInsert writes rows many at a time. On PostgreSQL each column goes as one array parameter
// (INSERT ... SELECT FROM unnest): a statement of thousands of placeholders cost more to send,
// parse and bind than the rows cost to write. SQLite runs in-process: a multi-row VALUES is fine.
type bulkInsert struct {
	v      *LeadView
	table  table
	suffix string  // after the rows: ON CONFLICT ...
	rows   [][]any // waiting to be written
}

func (v *LeadView) newBulkInsert(t table, suffix string) *bulkInsert {
	return &bulkInsert{v: v, table: t, suffix: suffix}
}

// add queues a row, with one value per column; it writes the queue once it is long enough.
func (b *bulkInsert) add(ctx context.Context, tx *sql.Tx, values ...any) error {
	b.rows = append(b.rows, values)
	if len(b.rows) >= rowsPerInsert[b.v.dialect] {
		return b.flush(ctx, tx)
	}
	return nil
}

// flush writes the queued rows.
func (b *bulkInsert) flush(ctx context.Context, tx *sql.Tx) error {
	if len(b.rows) == 0 {
		return nil
	}
	query, args := b.sqliteInsert()
	if b.v.dialect == "postgres" {
		var err error
		if query, args, err = b.postgresInsert(); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("write %s: %w", b.table.name, err)
	}
	b.rows = b.rows[:0]
	return nil
}

func (b *bulkInsert) postgresInsert() (string, []any, error) {
	unnest := make([]string, len(b.table.columns))
	args := make([]any, len(b.table.columns))
	for i, typ := range b.table.pgTypes {
		column := make([]any, len(b.rows))
		for r, row := range b.rows {
			column[r] = row[i]
		}
		literal, err := arrayLiteral(column)
		if err != nil {
			return "", nil, fmt.Errorf("write %s: column %s: %w", b.table.name, b.table.columns[i], err)
		}
		unnest[i], args[i] = fmt.Sprintf("$%d::%s[]", i+1, typ), literal
	}
	return "INSERT INTO " + b.table.name + " (" + strings.Join(b.table.columns, ", ") + ") SELECT * FROM unnest(" +
		strings.Join(unnest, ", ") + ") " + b.suffix, args, nil
}

// arrayLiteral writes a column's values as a PostgreSQL array literal, sent as text: strings
// quoted (a backslash before each " and \), integers and booleans as they are, nil as NULL.
// (lib/pq's GenericArray grew its buffer a byte at a time: it was half of a catch-up's CPU.)
func arrayLiteral(values []any) (string, error) {
	size := 2
	for _, v := range values {
		if s, ok := v.(string); ok {
			size += len(s) + 3
		} else {
			size += 21
		}
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		switch v := v.(type) {
		case nil:
			b.WriteString("NULL")
		case string:
			b.WriteByte('"')
			for rest := v; rest != ""; {
				j := strings.IndexAny(rest, `"\`)
				if j < 0 {
					b.WriteString(rest)
					break
				}
				b.WriteString(rest[:j])
				b.WriteByte('\\')
				b.WriteByte(rest[j])
				rest = rest[j+1:]
			}
			b.WriteByte('"')
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case bool:
			b.WriteString(strconv.FormatBool(v))
		default:
			return "", fmt.Errorf("no array literal for %T", v)
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}

func (b *bulkInsert) sqliteInsert() (string, []any) {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.table.columns)), ",") + ")"
	args := make([]any, 0, len(b.rows)*len(b.table.columns))
	for _, r := range b.rows {
		args = append(args, r...)
	}
	return "INSERT INTO " + b.table.name + " (" + strings.Join(b.table.columns, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", len(b.rows)), ",") + " " + b.suffix, args
}
