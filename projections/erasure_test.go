package projections_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
)

// outcomesOf is what the view says of each event of a lead, in log order: position, type,
// rebuildMatches rebuilds the view and fails unless the view, and the outcomes of a lead's
// events, are what they were before: what the view folded is what a rebuild gives.
func rebuildMatches(t *testing.T, store *eventstore.Store, view *projections.LeadView, lead uuid.UUID, before string) {
	t.Helper()
	was := snapshot(t, store, view) + fmt.Sprint(outcomesOf(t, store, view, lead))
	if _, err := view.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rebuilt := snapshot(t, store, view) + fmt.Sprint(outcomesOf(t, store, view, lead)); rebuilt != was {
		t.Fatalf("the rebuilt view differs from %s\nbefore:  %.2000s\nrebuilt: %.2000s", before, was, rebuilt)
	}
}

// and applied or the reason it was skipped.
func outcomesOf(t *testing.T, store *eventstore.Store, v *projections.LeadView, lead uuid.UUID) []string {
	t.Helper()
	ctx := context.Background()
	events, err := store.ReadStream(ctx, lead)
	if err != nil {
		t.Fatal(err)
	}
	outcomes, err := v.Outcomes(ctx, lead)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		o := outcomes.Of(e.Position)
		out = append(out, fmt.Sprintf("%d %s %v/%s%s", e.Position, e.Type, o.Applied, o.SkipReason, o.Error))
	}
	return out
}

// appendAll appends events one append each and returns the position of the last.
func appendAll(t *testing.T, store *eventstore.Store, events ...domain.Event) int64 {
	t.Helper()
	var last int64
	for _, e := range events {
		stored, err := store.Append(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		last = stored[0].Position
	}
	return last
}

// erase erases a lead and returns the position of its LeadErased event.
func erase(t *testing.T, store *eventstore.Store, lead uuid.UUID) int64 {
	t.Helper()
	erasure, already, err := store.Erase(context.Background(), lead, "ops")
	if err != nil || already {
		t.Fatalf("erase %s: already %v, %v", lead, already, err)
	}
	return erasure.Position
}

// checkForgotten checks that the view has forgotten an erased lead: not found by id, by its
// email, nor by a search for its name or email; each of its events before the erasure skipped
// as erased, the erasure applied.
func checkForgotten(t *testing.T, store *eventstore.Store, v *projections.LeadView, lead uuid.UUID, email, name string) {
	t.Helper()
	ctx := context.Background()
	if l, err := v.Lead(ctx, lead); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Lead of the erased lead = %+v, %v; want not found", l, err)
	}
	for _, f := range []projections.LeadFilter{{Email: email}, {Query: email}, {Query: name}} {
		f.Limit = 10
		if found, _, err := v.Leads(ctx, f); err != nil || len(found) != 0 {
			t.Errorf("Leads(%+v) = %d leads, %v; want none", f, len(found), err)
		}
	}
	if found, err := v.LeadsByEmail(ctx, []string{domain.NormalizeEmail(email)}); err != nil || len(found) != 0 {
		t.Errorf("LeadsByEmail = %d leads, %v; want none", len(found), err)
	}
	if keys, err := v.LeadKeys(ctx, []uuid.UUID{lead}); err != nil || len(keys) != 0 {
		t.Errorf("LeadKeys = %v, %v; want none", keys, err)
	}
	for _, o := range outcomesOf(t, store, v, lead) {
		want := " false/erased"
		if strings.Contains(o, string(domain.LeadErased)) {
			want = " true/"
		}
		if !strings.HasSuffix(o, want) {
			t.Errorf("outcome %q, want it to end %q", o, want)
		}
	}
}

// runView runs a lead view until the test ends, or until the returned stop is called.
func runView(t *testing.T, v *projections.LeadView) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = v.Run(ctx); close(done) }() // a stop may cancel it mid-subscribe: not a failure
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, v *projections.LeadView, position int64) {
	t.Helper()
	if err := v.WaitFor(context.Background(), position, time.Minute); err != nil {
		t.Fatalf("the view did not reach %d: %v", position, err)
	}
}

// The live view forgets an erased lead: its row goes, it is found by no lookup or search, its
// events read as skipped (erased), the other lead is intact; a rebuild says the same. The person
// comes back through the vendor: a fresh lead, from the new data only, live and rebuilt.
func TestLeadViewForgetsAnErasedLead(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := openStore(t, backend)
			view := newView(t, store)
			runView(t, view)
			gone, kept := domain.LeadID("whatconverts", "41"), domain.LeadID("whatconverts", "42")
			stale := whatConverts(domain.LeadUpdated, "41", "2026-01-01T09:00:00Z", "Old") // skipped as stale first
			waitFor(t, view, appendAll(t, store,
				whatConverts(domain.LeadCaptured, "41", "2026-01-01T10:00:00Z", "In Progress"),
				whatConverts(domain.LeadCaptured, "42", "2026-01-01T10:00:00Z", "In Progress"),
				whatConverts(domain.LeadUpdated, "41", "2026-01-02T10:00:00Z", "Completed"), stale))
			if l, err := view.Lead(ctx, gone); err != nil || l.Status != "Completed" {
				t.Fatalf("before the erasure: %+v, %v", l, err)
			}

			waitFor(t, view, erase(t, store, gone))
			checkForgotten(t, store, view, gone, "person41@example.com", "Lead 41")
			if l, err := view.Lead(ctx, kept); err != nil || l.Status != "In Progress" || l.Email != " Person42@Example.com" || l.EventCount != 1 {
				t.Errorf("the other lead = %+v, %v", l, err)
			}
			if found, _, err := view.Leads(ctx, projections.LeadFilter{Email: "person42@example.com", Limit: 10}); err != nil || len(found) != 1 {
				t.Errorf("the other lead by email: %d, %v", len(found), err)
			}
			rebuildMatches(t, store, view, gone, "the live view")
			checkForgotten(t, store, view, gone, "person41@example.com", "Lead 41")

			back := whatConverts(domain.LeadCaptured, "41", "2026-02-01T10:00:00Z", "Back")
			back.Data.Name, back.Data.VendorUpdatedAt = "", "" // nothing of the old data may show
			back.Data.SetEmail("new41@example.com")
			backAt := appendAll(t, store, back)
			waitFor(t, view, backAt)
			l, err := view.Lead(ctx, gone)
			if err != nil {
				t.Fatal(err)
			}
			if l.Status != "Back" || l.EventCount != 1 || l.Name != "" || l.Email != "new41@example.com" ||
				!l.CreatedAt.Equal(back.ReceivedAt) || l.LastPosition != backAt || len(l.Seen) != 1 {
				t.Errorf("the lead that came back = %+v; want a fresh lead from its new event only", l)
			}
			if found, _, err := view.Leads(ctx, projections.LeadFilter{Email: "person41@example.com", Limit: 10}); err != nil || len(found) != 0 {
				t.Errorf("the old email finds %d leads, %v", len(found), err)
			}
			rebuildMatches(t, store, view, gone, "the live view after the lead came back")
		})
	}
}

// A view far behind the log catches up in chunks (ReadAll) past an erasure: the lead's events,
// read erased, make no lead; the erasure and the lead's return are folded as live; the view is
// the one a rebuild gives. A lead's events, its erasure and its return in one subscriber batch
// fold the same way.
func TestCatchUpAndBatchesFoldAnErasure(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := openStore(t, backend)
			gone := domain.LeadID("whatconverts", "51")
			appendAll(t, store, whatConverts(domain.LeadCaptured, "51", "2026-01-01T10:00:00Z", "In Progress"),
				whatConverts(domain.LeadUpdated, "51", "2026-01-02T10:00:00Z", "Completed"))
			erase(t, store, gone)
			back := whatConverts(domain.LeadCaptured, "51", "2026-02-01T10:00:00Z", "Back")
			back.Data.SetEmail("new51@example.com")
			appendAll(t, store, back)
			// Past catchUpAt's behind, after the erasure: the first chunk folds the erasure.
			for i := 0; i < map[string]int{"postgres": 6_000, "sqlite": 1_500}[backend]; i += 500 {
				batch := make([]domain.Event, 500)
				for j := range batch {
					batch[j] = whatConverts(domain.LeadCaptured, fmt.Sprint(1000+i+j), "2026-01-01T10:00:00Z", "ok")
				}
				if _, err := store.Append(ctx, batch...); err != nil {
					t.Fatal(err)
				}
			}
			head, err := store.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}

			view := newView(t, store)
			runView(t, view)
			waitFor(t, view, head)
			for wait := time.Now(); view.CatchUpChunks() == 0 && time.Since(wait) < time.Second; { // counted after its commit
				time.Sleep(10 * time.Millisecond)
			}
			if view.CatchUpChunks() == 0 {
				t.Fatal("the view did not catch up in chunks")
			}
			if l, err := view.Lead(ctx, gone); err != nil || l.Status != "Back" || l.EventCount != 1 || l.Email != "new51@example.com" {
				t.Errorf("the lead that came back = %+v, %v", l, err)
			}
			if found, _, err := view.Leads(ctx, projections.LeadFilter{Email: "person51@example.com", Limit: 10}); err != nil || len(found) != 0 {
				t.Errorf("the erased email finds %d leads, %v", len(found), err)
			}
			want := fmt.Sprint([]string{"1 LeadCaptured false/erased", "2 LeadUpdated false/erased", "3 LeadErased true/", "4 LeadCaptured true/"})
			if got := fmt.Sprint(outcomesOf(t, store, view, gone)); got != want {
				t.Errorf("outcomes = %s, want %s", got, want)
			}
			rebuildMatches(t, store, view, gone, "the view caught up")

			// In one subscriber batch: a lead's events, its erasure, and its return.
			again := domain.LeadID("whatconverts", "52")
			if _, err := store.Append(ctx, whatConverts(domain.LeadCaptured, "52", "2026-01-01T10:00:00Z", "In Progress"),
				whatConverts(domain.LeadUpdated, "52", "2026-01-02T10:00:00Z", "Completed"),
				domain.NewErasure(again, "whatconverts", "ops", time.Now()),
				whatConverts(domain.LeadUpdated, "52", "2026-02-01T10:00:00Z", "Back")); err != nil {
				t.Fatal(err)
			}
			if head, err = store.Head(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, view, head)
			if l, err := view.Lead(ctx, again); err != nil || l.Status != "Back" || l.EventCount != 1 || l.Name != "Lead 52" {
				t.Errorf("the lead erased and back in one batch = %+v, %v", l, err)
			}
			rebuildMatches(t, store, view, again, "the view that folded one batch")
		})
	}
}

// A batch the database refuses is applied again event by event (see LeadView.write): an
// erasure in it, applied alone, forgets its lead and marks the lead's events as erased too.
func TestLeadViewAppliesAnErasureAlone(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store := openStore(t, backend)
			view := newView(t, store)
			runView(t, view)
			gone := domain.LeadID("whatconverts", "71")
			waitFor(t, view, appendAll(t, store, whatConverts(domain.LeadCaptured, "71", "2026-01-01T10:00:00Z", "In Progress")))
			refuse := `ALTER TABLE lead_view ADD CONSTRAINT refuse_me CHECK (search NOT LIKE '%refused%')`
			if backend == "sqlite" {
				refuse = `CREATE TRIGGER refuse_me BEFORE INSERT ON lead_view WHEN NEW.search LIKE '%refused%'
					BEGIN SELECT RAISE(ABORT, 'refused'); END`
			}
			if _, err := store.DB().ExecContext(ctx, refuse); err != nil {
				t.Fatal(err)
			}
			bad := whatConverts(domain.LeadCaptured, "72", "2026-01-01T10:00:00Z", "x")
			bad.Data.Name = "Refused Name"
			back := whatConverts(domain.LeadCaptured, "71", "2026-02-01T10:00:00Z", "Back")
			stored, err := store.Append(ctx, bad, domain.NewErasure(gone, "whatconverts", "ops", time.Now()), back)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, view, stored[2].Position)
			want := fmt.Sprint([]string{"1 LeadCaptured false/erased", "3 LeadErased true/", "4 LeadCaptured true/"})
			if got := fmt.Sprint(outcomesOf(t, store, view, gone)); got != want {
				t.Errorf("outcomes = %s, want %s", got, want)
			}
			if l, err := view.Lead(ctx, gone); err != nil || l.Status != "Back" || l.EventCount != 1 {
				t.Errorf("the lead that came back = %+v, %v", l, err)
			}
			if o := outcomesOf(t, store, view, bad.LeadID); len(o) != 1 || !strings.Contains(o[0], "false/") || strings.HasSuffix(o[0], "/") {
				t.Errorf("the refused event: %v, want failed", o)
			}
		})
	}
}

// No byte of an erased person's email or name is left in the SQLite file or its WAL once the
// view has forgotten them and the WAL is checkpointed: the store deletes securely
// (secure_delete), the view's row, its search column and its index entries included. The
// other person's email is found, so the search would see one.
func TestErasedLeadLeavesNoTraceInTheSQLiteFile(t *testing.T) {
	ctx := context.Background()
	url := eventstoretest.SQLiteURL(t)
	path := strings.TrimPrefix(url, "sqlite:")
	store := openURL(t, url)
	view := newView(t, store)
	stop := runView(t, view)
	e := whatConverts(domain.LeadCaptured, "61", "2026-01-01T10:00:00Z", "In Progress")
	e.Data.Name, e.Data.Phone = "Zebulon Quaxworth", "+1 555 0199"
	e.Data.SetEmail("Zebulon.Quaxworth@Example.org")
	update := whatConverts(domain.LeadUpdated, "61", "2026-01-02T10:00:00Z", "Completed")
	update.Data.Name = "Zebulon Quaxworth"
	update.Data.SetEmail("Zebulon.Quaxworth@Example.org")
	kept := whatConverts(domain.LeadCaptured, "62", "2026-01-01T10:00:00Z", "In Progress")
	kept.Data.SetEmail("Kept.Person@Example.org")
	waitFor(t, view, appendAll(t, store, e, kept, update))
	waitFor(t, view, erase(t, store, e.LeadID))
	stop()
	noTrace(t, store, path)
	if _, err := view.Rebuild(ctx); err != nil { // a rebuild deletes every row and writes them again
		t.Fatal(err)
	}
	noTrace(t, store, path)
}

// noTrace checkpoints the WAL and looks for the erased person of
// TestErasedLeadLeavesNoTraceInTheSQLiteFile in the database's files.
func noTrace(t *testing.T, store *eventstore.Store, path string) {
	t.Helper()
	var busy, logFrames, checkpointed int
	if err := store.DB().QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil || busy != 0 {
		t.Fatalf("checkpoint: busy %d, %v", busy, err)
	}
	var files []byte
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	for _, trace := range []string{"Zebulon.Quaxworth@Example.org", "zebulon.quaxworth@example.org", "Zebulon Quaxworth", "zebulon quaxworth", "555 0199"} {
		if i := bytes.Index(files, []byte(trace)); i >= 0 {
			t.Errorf("the database holds %q at byte %d after the erasure", trace, i)
		}
	}
	if !bytes.Contains(files, []byte("kept.person@example.org")) {
		t.Error("the other person's email is not found in the files: the search cannot see one")
	}
}
