package eventstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// fillProcedure appends n synthetic events to the log, a transaction per 200 (so they spread
// over many transaction ids, as group commits do), over 200,000 leads and four sources, one of
// them rare; then gives every lead a key.
const fillProcedure = `CREATE PROCEDURE plans_fill(n bigint) LANGUAGE plpgsql AS $$
DECLARE i bigint := 0;
BEGIN
	WHILE i < n LOOP
		INSERT INTO ledger_events (uuid, payload, metadata, transaction_id, stream_id, stream_version,
			event_type, source, vendor, received_at, occurred_at, raw_sha256)
		SELECT gen_random_uuid()::text, convert_to('{"n":' || g || '}', 'UTF8'),
			json_build_object('data', '{"name":"Lead"}'), pg_current_xact_id(),
			md5('lead' || g % 200000)::uuid, g / 200000 + 1, 'LeadCaptured',
			CASE WHEN g % 100 = 0 THEN 'sensei' ELSE (ARRAY['conversica', 'whatconverts', 'leadflo'])[g % 3 + 1] END,
			'leadflo', now() - interval '30 days' + g * interval '1 second', '2026-01-01T00:00:00Z', md5(g::text) || md5(g::text)
		FROM generate_series(i, LEAST(i + 200, n) - 1) g;
		i := i + 200;
		COMMIT;
	END LOOP;
	INSERT INTO ledger_lead_keys (lead_id, lead_key)
	SELECT DISTINCT stream_id, sha512(stream_id::text::bytea) FROM ledger_events ON CONFLICT DO NOTHING;
END $$`

// TestReadQueriesWalkIndexes EXPLAINs every read of the log on a PostgreSQL log of 100,000
// events (LEDGER_PLAN_EVENTS sets another size; scripts/explain-reads.sh runs 1,000,000), with
// and without table statistics (this cluster runs without autovacuum). A read that serves a
// poll or a page (a subscriber's next batch, a page of the log, a lead's stream, the head)
// touches a number of pages that does not grow with the log, and never scans it whole. The
// plans are printed.
func TestReadQueriesWalkIndexes(t *testing.T) {
	n := int64(100_000)
	if v := os.Getenv("LEDGER_PLAN_EVENTS"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("LEDGER_PLAN_EVENTS: %v", err)
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{URL: eventstoretest.PostgresURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, q := range []string{fillProcedure, fmt.Sprintf(`CALL plans_fill(%d)`, n)} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	t.Logf("filled %d events in %s", n, time.Since(start).Round(time.Millisecond))
	// As many rejected webhooks, ids in time order as UUIDv7s are, 1% of them from a rare source.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO `+rejectionsTable+` (`+rejectionColumns+`)
		SELECT lpad(to_hex(g), 8, '0') || '-0000-7000-8000-000000000000',
			CASE WHEN g % 100 = 0 THEN 'sensei' ELSE 'conversica' END, 'conversica',
			'2026-01-01T00:00:00Z', 'Invalid JSON', convert_to('{', 'UTF8'), md5(g::text) || md5(g::text)
		FROM generate_series(1, $1::bigint) g`, n); err != nil {
		t.Fatalf("fill rejections: %v", err)
	}
	mid := n / 2
	midRejection := uuid.MustParse(fmt.Sprintf("%08x-0000-7000-8000-000000000000", mid))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetGroupPosition(ctx, tx, "plans", mid); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var lead uuid.UUID
	if err := s.db.QueryRowContext(ctx, `SELECT stream_id FROM ledger_events WHERE "offset" = $1`, mid).Scan(&lead); err != nil {
		t.Fatal(err)
	}

	sixteenLeads := []uuid.UUID{lead}
	for len(sixteenLeads) < 16 {
		sixteenLeads = append(sixteenLeads, uuid.New())
	}

	// Each read as it runs on this log, with the most pages it may touch whatever the log's size.
	// A read of personal data also looks up each row's lead key by primary key: up to
	// keyProbe pages a row on top (a three-level index and the row).
	const keyProbe = 4
	reads := []struct {
		name     string
		q        wsql.Query
		maxPages int
	}{
		{"subscriber poll (1,000 events)", s.schema.SelectQuery(Topic, "plans", s.offsets), 200 + 1000*keyProbe},
		{"ReadAll page (1,000 events)", s.readAllQuery(mid, 1000, Filter{UpTo: mid + 1000}), 200 + 1000*keyProbe},
		{"ReadEnvelopes page (1,000 events)", s.envelopesQuery(mid, 1000, Filter{UpTo: mid + 1000}), 200 + 1000*keyProbe},
		{"ReadEnvelopes, 1% filter, widest window", s.envelopesQuery(mid, 1000, Filter{Sources: []string{"sensei"}, UpTo: mid + maxWindow}), 4000 + 1000*keyProbe},
		{"ReadLeadPositions page (1,000 events)", s.leadPositionsQuery(mid, 1000, Filter{UpTo: mid + 1000}), 200},
		{"ReadStream (a lead's history)", s.streamQuery(lead), 50 + 10*keyProbe},
		{"Erase: the lead's newest event", s.newestOfStreamQuery(lead), 10},
		{"ErasurePosition (an export's erased event)", s.erasurePositionQuery(lead, 0), 50},
		{"Head", headQuery, 10},
		{"the chain's last hash (every append)", wsql.Query{Query: lastHashQuery}, 10},
		{"an append's stream versions (16 leads)", wsql.Query{Query: appendVersionsQuery(sixteenLeads)}, 16 * keyProbe},
		{"an append's lead keys (16 leads)", wsql.Query{Query: appendKeysQuery(sixteenLeads)}, 16 * keyProbe},
		{"PositionOf (an event's proof)", s.positionOfQuery(lead), 10},
		{"HashUpTo (an export's start)", s.hashUpToQuery(mid), 10},
		{"ReadHashes page (1,000 events, the tree)", s.pageQuery(`"offset", hash`, mid, 1000, Filter{UpTo: mid + 1000}), 200},
		{"ReadChain page (1,000 events, verify)", s.pageQuery(chainColumns+`, payload, hash`, mid, 1000, Filter{}), 200},
		{"ReadChain range (1,000 positions, verify)", s.rangeQuery(chainColumns+`, payload, hash`, mid, mid+1000), 200},
		{"ReadChain's keys of 100 leads", keysOfLeadsAfter(t, s, mid), keysPerQuery * keyProbe},
		{"GroupPosition", s.groupPositionQuery("plans"), 10},
		{"ReadRejections, newest page (1,000)", s.rejectionsQuery(RejectionFilter{}, 1000), 300},
		{"ReadRejections page from a cursor (1,000)", s.rejectionsQuery(RejectionFilter{Before: midRejection}, 1000), 300},
		{"ReadRejections, 1% source, from a cursor (1,000)", s.rejectionsQuery(RejectionFilter{Source: "sensei", Before: midRejection}, 1000), 1300},
		{"ReadRejections, 99% source, from a cursor (1,000)", s.rejectionsQuery(RejectionFilter{Source: "conversica", Before: midRejection}, 1000), 300},
		// Once per replay, over what it is asked for: printed, not bounded.
		{"Count of a 10,000-event range (a replay's total)", s.countQuery(mid, Filter{UpTo: mid + 10_000}), 0},
		{"PositionBefore (a replay from a time)", s.positionBeforeQuery(time.Now().Add(-30*24*time.Hour + time.Duration(mid)*time.Second)), 0},
	}
	for _, stats := range []string{"no statistics", "analyzed"} {
		if stats == "analyzed" {
			if _, err := s.db.ExecContext(ctx, `ANALYZE ledger_events, `+rejectionsTable); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range reads {
			plan := explain(t, s, r.q)
			t.Logf("%-13s %-50s %s", stats, r.name, plan)
			if r.maxPages > 0 && (plan.scans["ledger_events"] == "Seq Scan" || plan.scans[leadKeysTable] == "Seq Scan" ||
				plan.scans[rejectionsTable] == "Seq Scan" || plan.pages > r.maxPages) {
				t.Errorf("%s (%s): %s; want at most %d pages and no sequential scan of the log", r.name, stats, plan, r.maxPages)
			}
		}
	}
}

// plan is what EXPLAIN (ANALYZE, BUFFERS) says of a query.
type plan struct {
	nodes []string          // node types, outermost first
	scans map[string]string // relation -> a whole-table scan of it ("Seq Scan", "Bitmap Heap Scan")
	pages int               // shared buffers hit or read
	ms    float64
}

func (p plan) String() string {
	return fmt.Sprintf("%5d pages %8.2f ms  %s", p.pages, p.ms, strings.Join(p.nodes, " > "))
}

// keysOfLeadsAfter is the query of a chain reader for the keys of keysPerQuery leads of events
// after a position.
func keysOfLeadsAfter(t *testing.T, s *Store, after int64) wsql.Query {
	t.Helper()
	rows, err := s.db.Query(`SELECT DISTINCT stream_id FROM ledger_events WHERE "offset" > $1 AND "offset" <= $2`, after, after+keysPerQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var leads []uuid.UUID
	for rows.Next() {
		var lead uuid.UUID
		if err := rows.Scan(&lead); err != nil {
			t.Fatal(err)
		}
		leads = append(leads, lead)
	}
	if len(leads) != keysPerQuery {
		t.Fatalf("%d leads after %d, want %d", len(leads), after, keysPerQuery)
	}
	query, args := s.leadKeysQuery(leads)
	return wsql.Query{Query: query, Args: args}
}

func explain(t *testing.T, s *Store, q wsql.Query) plan {
	t.Helper()
	var out string
	if err := s.db.QueryRowContext(context.Background(), `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+q.Query, q.Args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", q.Query, err)
	}
	type node struct {
		Type     string `json:"Node Type"`
		Relation string `json:"Relation Name"`
		Index    string `json:"Index Name"`
		Hit      int    `json:"Shared Hit Blocks"`
		Read     int    `json:"Shared Read Blocks"`
		Plans    []node `json:"Plans"`
	}
	var doc []struct {
		Plan node    `json:"Plan"`
		Time float64 `json:"Execution Time"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("explain output: %v\n%s", err, out)
	}
	p := plan{scans: map[string]string{}, pages: doc[0].Plan.Hit + doc[0].Plan.Read, ms: doc[0].Time}
	var walk func(n node)
	walk = func(n node) {
		name := n.Type
		if n.Index != "" {
			name += " (" + n.Index + ")"
		} else if n.Relation != "" {
			name += " (" + n.Relation + ")"
		}
		p.nodes = append(p.nodes, name)
		if n.Type == "Seq Scan" || n.Type == "Bitmap Heap Scan" {
			p.scans[n.Relation] = n.Type
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(doc[0].Plan)
	return p
}
