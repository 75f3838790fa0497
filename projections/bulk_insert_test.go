package projections

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	_ "github.com/lib/pq"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Every value a lead row or an outcome may hold comes back from PostgreSQL as it went in.
func TestArrayLiteralsRoundTrip(t *testing.T) {
	db, err := sql.Open("postgres", eventstoretest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	texts := []any{"", "plain", `"quoted"`, `back\slash`, `{"json":["a","b\"c"]}`, "NULL", "a,b}{", " spaced ",
		"line\nbreak\ttab", "ünï — 漢字 🙂", `\"`, nil}
	literal, err := arrayLiteral(texts)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(context.Background(), `SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n`, literal)
	if err != nil {
		t.Fatalf("%s: %v", literal, err)
	}
	var got []any
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v.Valid {
			got = append(got, v.String)
		} else {
			got = append(got, nil)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, texts) {
		t.Errorf("text[] round trip:\n got %q\nwant %q", got, texts)
	}

	numbers, err := arrayLiteral([]any{int64(0), int64(-7), int64(1) << 62})
	if err != nil {
		t.Fatal(err)
	}
	bools, err := arrayLiteral([]any{true, false, nil})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	var trues int
	if err := db.QueryRow(`SELECT (SELECT sum(v) FROM unnest($1::bigint[]) v)::bigint, (SELECT count(*) FROM unnest($2::boolean[]) b WHERE b)`,
		numbers, bools).Scan(&sum, &trues); err != nil {
		t.Fatal(err)
	}
	if sum != 1<<62-7 || trues != 1 {
		t.Errorf("bigint[] sum %d, boolean[] trues %d", sum, trues)
	}
	if _, err := arrayLiteral([]any{3.5}); err == nil {
		t.Error("a float made an array literal; want an error naming its type")
	}
}
