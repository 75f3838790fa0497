package projections_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
)

func whatConverts(typ domain.EventType, leadID, lastUpdated, status string) domain.Event {
	d := domain.LeadData{ExternalID: leadID, Name: "Lead " + leadID, Status: status, VendorUpdatedAt: lastUpdated}
	d.SetEmail(fmt.Sprintf(" Person%s@Example.com", leadID))
	raw := fmt.Sprintf(`{"trigger":%q,"lead_id":%s,"last_updated":%q,"lead_state":%q}`, map[domain.EventType]string{domain.LeadCaptured: "new", domain.LeadUpdated: "update"}[typ], leadID, lastUpdated, status)
	return domain.NewEvent("whatconverts", "whatconverts", domain.Parsed{Type: typ, LeadKey: leadID, OccurredAt: lastUpdated, Data: d}, []byte(raw), time.Now())
}

// openStore opens a fresh, migrated log on the backend, closed when the test ends.
func openStore(t *testing.T, backend string) *eventstore.Store {
	t.Helper()
	return openURL(t, eventstoretest.URL(t, backend))
}

// openURL opens the log at a database URL, migrated, closed when the test ends.
func openURL(t *testing.T, url string) *eventstore.Store {
	t.Helper()
	store, err := eventstore.Open(context.Background(), eventstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

// newView makes a lead view of store that logs nowhere.
func newView(t *testing.T, store *eventstore.Store) *projections.LeadView {
	t.Helper()
	view, err := projections.NewLeadView(context.Background(), store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return view
}

func TestLeadViewFoldsTheWhatConvertsSequence(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := openStore(t, backend)
			view := newView(t, store)
			done := make(chan error, 1)
			go func() { done <- view.Run(ctx) }()

			sequence := []domain.Event{
				whatConverts(domain.LeadCaptured, "1", "2026-01-01T10:00:00Z", "In Progress"),
				whatConverts(domain.LeadUpdated, "1", "2026-01-02T10:00:00Z", "Completed"),
				whatConverts(domain.LeadUpdated, "1", "2026-01-02T10:00:00Z", "Completed"),
				whatConverts(domain.LeadUpdated, "1", "2026-01-01T12:00:00Z", "Abandoned"),
				whatConverts(domain.LeadUpdated, "2", "2026-01-05T10:00:00Z", "Completed"),
				whatConverts(domain.LeadCaptured, "2", "2026-01-04T10:00:00Z", "In Progress"),
			}
			var last int64
			for _, e := range sequence {
				stored, err := store.Append(ctx, e)
				if err != nil {
					t.Fatal(err)
				}
				last = stored[0].Position
			}
			if err := view.WaitFor(ctx, last, 10*time.Second); err != nil {
				t.Fatalf("view did not reach %d: %v", last, err)
			}
			lead1, err := view.Lead(ctx, domain.LeadID("whatconverts", "1"))
			if err != nil || lead1.Status != "Completed" || lead1.EventCount != 4 {
				t.Fatalf("lead 1 = %+v, %v", lead1, err)
			}
			outcomes, err := view.Outcomes(ctx, lead1.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for pos := int64(1); pos <= 4; pos++ {
				o := outcomes.Of(pos)
				got = append(got, fmt.Sprintf("%v/%s", o.Applied, o.SkipReason))
			}
			if want := "[true/ true/ false/duplicate false/stale]"; fmt.Sprint(got) != want {
				t.Fatalf("lead 1 outcomes = %v, want %s", got, want)
			}
			lead2, err := view.Lead(ctx, domain.LeadID("whatconverts", "2"))
			if err != nil || lead2.Status != "Completed" || lead2.EventCount != 2 {
				t.Fatalf("update-before-new lead = %+v, %v", lead2, err)
			}
			page, _, err := view.Leads(ctx, projections.LeadFilter{Email: "PERSON2@example.com ", Limit: 10})
			if err != nil || len(page) != 1 || page[0].ID != lead2.ID {
				t.Fatalf("email lookup = %v, %v", page, err)
			}
			first, next, err := view.Leads(ctx, projections.LeadFilter{Limit: 1})
			if err != nil || len(first) != 1 || next == "" {
				t.Fatalf("first page = %v %q %v", first, next, err)
			}
			second, end, err := view.Leads(ctx, projections.LeadFilter{Limit: 1, Cursor: next})
			if err != nil || len(second) != 1 || end != "" || second[0].ID == first[0].ID {
				t.Fatalf("second page = %v %q %v", second, end, err)
			}
			if _, _, err := view.Leads(ctx, projections.LeadFilter{Limit: 1, Cursor: "bogus"}); err != projections.ErrBadCursor {
				t.Fatalf("bad cursor: %v", err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}
		})
	}
}

// A poison event (here: its stored data no longer decodes) is recorded as failed, counted, and
// the view moves on to the next events. A sealed event that was changed does not open at all
// (see eventstore/lead_keys.go): the poison is a LeadErased event, the one type stored unsealed.
func TestLeadViewSkipsAPoisonEvent(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := openStore(t, backend)
			if _, err := store.Append(ctx, whatConverts(domain.LeadCaptured, "9", "2026-01-01T10:00:00Z", "x")); err != nil {
				t.Fatal(err)
			}
			bad, _, err := store.Erase(ctx, domain.LeadID("whatconverts", "9"), "ops")
			if err != nil {
				t.Fatal(err)
			}
			// Corrupt the stored normalised data, as a bug in an old version might have written it.
			corrupt := `UPDATE ledger_events SET metadata = REPLACE(CAST(metadata AS TEXT), '"data":"{', '"data":"[') WHERE uuid = ?`
			if backend == "postgres" {
				corrupt = `UPDATE ledger_events SET metadata = REPLACE(metadata::text, '"data":"{', '"data":"[')::json WHERE uuid = $1`
			}
			eventstoretest.AllowTampering(t, store.DB(), backend)
			if _, err := store.DB().ExecContext(ctx, corrupt, bad.ID.String()); err != nil {
				t.Fatal(err)
			}
			good, err := store.Append(ctx, whatConverts(domain.LeadUpdated, "9", "2026-01-02T10:00:00Z", "y"))
			if err != nil {
				t.Fatal(err)
			}
			view := newView(t, store)
			go func() { _ = view.Run(ctx) }()
			if err := view.WaitFor(ctx, good[0].Position, 10*time.Second); err != nil {
				t.Fatalf("the view stalled on the poison event: %v", err)
			}
			outcomes, err := view.Outcomes(ctx, bad.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if o := outcomes.Of(bad.Position); o.Applied || o.Error == "" {
				t.Fatalf("poison event outcome = %+v, want failed with its error", o)
			}
			if o := outcomes.Of(good[0].Position); !o.Applied {
				t.Fatalf("the event after the poison one = %+v, want applied", o)
			}
			if view.Failed() != 1 {
				t.Fatalf("failed = %d, want 1", view.Failed())
			}
		})
	}
}

// Two processes may take turns advancing the view (one at a time, by the consumer group's
// lock). A process that comes back must not fold events into the leads it remembers from
// before the other one's turn.
func TestLeadViewTakingTurnsAcrossProcesses(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := openStore(t, backend)
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			a, _ := projections.NewLeadView(ctx, store, logger)
			b, _ := projections.NewLeadView(ctx, store, logger)
			turn := func(v *projections.LeadView, e domain.Event) {
				t.Helper()
				stored, err := store.Append(ctx, e)
				if err != nil {
					t.Fatal(err)
				}
				runCtx, stop := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { _ = v.Run(runCtx); close(done) }()
				if err := v.WaitFor(ctx, stored[0].Position, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				stop()
				<-done
			}
			turn(a, whatConverts(domain.LeadCaptured, "5", "2026-01-01T10:00:00Z", "New"))
			turn(b, whatConverts(domain.LeadUpdated, "5", "2026-01-02T10:00:00Z", "Completed"))
			last := whatConverts(domain.LeadUpdated, "5", "2026-01-03T10:00:00Z", "")
			last.Data.Phone = "+1 555 0100"
			turn(a, last)
			lead, err := a.Lead(ctx, domain.LeadID("whatconverts", "5"))
			if err != nil {
				t.Fatal(err)
			}
			if lead.Status != "Completed" || lead.Phone != "+1 555 0100" || lead.EventCount != 3 {
				t.Fatalf("lead after turns = status %q phone %q events %d; the other process's update was lost", lead.Status, lead.Phone, lead.EventCount)
			}
		})
	}
}

// A batch holding an event whose lead the database refuses (here a constraint added for the
// test, as a stricter schema or a full disk would) is written again event by event: the bad
// event is recorded as failed, its neighbours land. Behind a backlog, the catch-up chunk that
// holds it fails and the view follows the log batch by batch past it, to the same end.
func TestLeadViewIsolatesAnEventTheDatabaseRefuses(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		for _, backlog := range []int{0, 6000} {
			t.Run(fmt.Sprintf("%s/backlog %d", backend, backlog), func(t *testing.T) {
				testIsolatesARefusedEvent(t, backend, backlog)
			})
		}
	}
}

func testIsolatesARefusedEvent(t *testing.T, backend string, backlog int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := openStore(t, backend)
	view := newView(t, store)
	refuse := `ALTER TABLE lead_view ADD CONSTRAINT refuse_me CHECK (search NOT LIKE '%refused%')`
	if backend == "sqlite" { // SQLite adds no constraint to a table: a trigger refuses instead
		refuse = `CREATE TRIGGER refuse_me BEFORE INSERT ON lead_view WHEN NEW.search LIKE '%refused%'
			BEGIN SELECT RAISE(ABORT, 'refused'); END`
	}
	if _, err := store.DB().ExecContext(ctx, refuse); err != nil {
		t.Fatal(err)
	}
	fill := func(from, n int) { // leads that are fine, around the three under test
		for i := from; i < from+n; i += 500 {
			batch := make([]domain.Event, 500)
			for j := range batch {
				batch[j] = whatConverts(domain.LeadCaptured, fmt.Sprint(1000+i+j), "2026-01-01T10:00:00Z", "ok")
			}
			if _, err := store.Append(ctx, batch...); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill(0, backlog/2)
	bad := whatConverts(domain.LeadCaptured, "66", "2026-01-01T10:00:00Z", "x")
	bad.Data.Name = "Refused Name"
	stored, err := store.Append(ctx, whatConverts(domain.LeadCaptured, "65", "2026-01-01T10:00:00Z", "ok"), bad,
		whatConverts(domain.LeadCaptured, "67", "2026-01-01T10:00:00Z", "ok"))
	if err != nil {
		t.Fatal(err)
	}
	fill(backlog/2, backlog/2)
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = view.Run(ctx) }()
	if err := view.WaitFor(ctx, head, time.Minute); err != nil {
		t.Fatalf("the view stalled on an event the database refuses: %v", err)
	}
	for i, want := range []bool{true, false, true} {
		outcomes, err := view.Outcomes(ctx, stored[i].LeadID)
		if err != nil {
			t.Fatal(err)
		}
		o := outcomes.Of(stored[i].Position)
		if o.Applied != want || (!want && o.Error == "") {
			t.Errorf("event %d: %+v, want applied=%v (and an error when not)", i, o, want)
		}
	}
	if n, err := view.FailedEvents(ctx); err != nil || n != 1 || view.Failed() != 1 {
		t.Errorf("failed events = %d in the view, %d by this process (%v); want the refused one only", n, view.Failed(), err)
	}
}

// A NUL character in a lead's fields (PostgreSQL's text cannot hold one) reaches the view on
// both databases: the lead keeps the exact values, and is found by a search.
func TestLeadViewKeepsANulInALeadsFields(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := openStore(t, backend)
			view := newView(t, store)
			e := whatConverts(domain.LeadCaptured, "70", "2026-01-01T10:00:00Z", "new\x00status")
			e.Data.Name = "Nul\x00Name"
			e.Data.SetEmail("nul\x00@example.com")
			stored, err := store.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = view.Run(ctx) }()
			if err := view.WaitFor(ctx, stored[0].Position, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			outcomes, err := view.Outcomes(ctx, e.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if o := outcomes.Of(stored[0].Position); !o.Applied || o.Error != "" {
				t.Fatalf("outcome = %+v, want applied", o)
			}
			lead, err := view.Lead(ctx, e.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if lead.Name != "Nul\x00Name" || lead.Email != "nul\x00@example.com" || lead.Status != "new\x00status" {
				t.Errorf("lead = name %q email %q status %q, want the values with their NUL", lead.Name, lead.Email, lead.Status)
			}
			if found, _, err := view.Leads(ctx, projections.LeadFilter{Query: "nul", Limit: 10}); err != nil || len(found) != 1 {
				t.Errorf("search for the name = %d leads, %v; want the lead", len(found), err)
			}
		})
	}
}

// An event whose fold fails every time (here: its lead's stored view no longer decodes) is
// retried a few times, then recorded as failed; the view goes on with the next events.
func TestLeadViewDoesNotStallOnAFoldThatKeepsFailing(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := openStore(t, backend)
			first, err := store.Append(ctx, whatConverts(domain.LeadCaptured, "5", "2026-01-01T10:00:00Z", "a"))
			if err != nil {
				t.Fatal(err)
			}
			view := newView(t, store)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = view.Run(runCtx); close(done) }()
			if err := view.WaitFor(ctx, first[0].Position, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			stop()
			<-done
			if _, err := store.DB().ExecContext(ctx, `UPDATE lead_view SET state = 'not json'`); err != nil {
				t.Fatal(err)
			}
			stuck, err := store.Append(ctx, whatConverts(domain.LeadUpdated, "5", "2026-01-02T10:00:00Z", "b"))
			if err != nil {
				t.Fatal(err)
			}
			other, err := store.Append(ctx, whatConverts(domain.LeadCaptured, "6", "2026-01-02T10:00:00Z", "c"))
			if err != nil {
				t.Fatal(err)
			}
			view = newView(t, store)
			go func() { _ = view.Run(ctx) }()
			if err := view.WaitFor(ctx, other[0].Position, 10*time.Second); err != nil {
				t.Fatalf("the view stalled on an event it cannot fold: %v", err)
			}
			outcomes, err := view.Outcomes(ctx, stuck[0].LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if o := outcomes.Of(stuck[0].Position); o.Applied || o.Error == "" {
				t.Fatalf("outcome of the event that cannot be folded = %+v, want failed with its error", o)
			}
			if _, err := view.Lead(ctx, other[0].LeadID); err != nil {
				t.Fatalf("the next lead is not in the view: %v", err)
			}
		})
	}
}
