package eventstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// storedRows reads the payload and metadata of a lead's events exactly as the database holds them.
func storedRows(t *testing.T, s *eventstore.Store, lead uuid.UUID) (payloads, metadata []string) {
	t.Helper()
	rows, err := s.DB().Query(s.Rebind(`SELECT payload, metadata FROM ledger_events WHERE stream_id = ? ORDER BY "offset"`), lead.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p []byte
		var m string
		if err := rows.Scan(&p, &m); err != nil {
			t.Fatal(err)
		}
		payloads, metadata = append(payloads, string(p)), append(metadata, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return payloads, metadata
}

// The database holds no event's personal data in plain text: raw bodies and data are sealed,
// and read back as they were sent.
func TestPersonalDataIsStoredSealed(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			sent := newEvent("leadflo", "sealed", 1)
			if _, err := s.Append(ctx, sent); err != nil {
				t.Fatal(err)
			}
			payloads, metadata := storedRows(t, s, sent.LeadID)
			for _, secret := range []string{"Lead 1", "sarah@example.com", `"lead":"sealed"`} {
				if strings.Contains(payloads[0]+metadata[0], secret) {
					t.Errorf("the stored row holds %q in plain text", secret)
				}
			}
			read, err := s.ReadStream(ctx, sent.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(read[0].Raw, sent.Raw) || read[0].Data.Name != "Lead 1" || read[0].Erased {
				t.Errorf("read back raw %q, name %q, erased %v", read[0].Raw, read[0].Data.Name, read[0].Erased)
			}
		})
	}
}

// Erasing a lead destroys its key: its events read back erased everywhere (history, pages,
// envelopes, the chain's reads, subscribers), with ids, hashes and raw SHA-256s unchanged; a
// LeadErased event records who and when; other leads are untouched; a second erasure returns
// the first; new data for the lead after the erasure is readable again.
func TestEraseShredsALeadsData(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			before, err := s.Append(ctx, newEvent("leadflo", "gone", 1), newEvent("leadflo", "kept", 2), newEvent("leadflo", "gone", 3))
			if err != nil {
				t.Fatal(err)
			}
			gone, kept := before[0].LeadID, before[1].LeadID

			erasure, already, err := s.Erase(ctx, gone, "ops-token")
			if err != nil || already {
				t.Fatalf("erase: already %v, err %v", already, err)
			}
			var who domain.Erasure
			if err := json.Unmarshal(erasure.Raw, &who); err != nil || who.ErasedBy != "ops-token" || time.Since(who.ErasedAt) > time.Minute {
				t.Errorf("the erasure's body %s (%v): want who and when", erasure.Raw, err)
			}
			if erasure.Type != domain.LeadErased || erasure.Source != "leadflo" || erasure.Version != 3 {
				t.Errorf("erasure = %s of %s at version %d", erasure.Type, erasure.Source, erasure.Version)
			}
			again, already, err := s.Erase(ctx, gone, "someone-else")
			if err != nil || !already || again.ID != erasure.ID {
				t.Errorf("second erase: already %v, id %s (first %s), err %v", already, again.ID, erasure.ID, err)
			}
			if _, _, err := s.Erase(ctx, uuid.New(), "ops"); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("erase an unknown lead: %v, want not found", err)
			}

			history, err := s.ReadStream(ctx, gone)
			if err != nil {
				t.Fatal(err)
			}
			if len(history) != 3 {
				t.Fatalf("%d events in the erased lead's history, want 2 and the erasure", len(history))
			}
			for i, e := range history[:2] {
				want := before[2*i]
				if !e.Erased || e.Raw != nil || e.Data.Name != "" || e.Data.Email != "" {
					t.Errorf("event %d after erasure: erased %v, raw %q, data %+v", e.Position, e.Erased, e.Raw, e.Data)
				}
				if e.ID != want.ID || e.Hash != want.Hash || e.RawSHA256 != want.RawSHA256 || e.Position != want.Position {
					t.Errorf("event %d: what the chain covers changed", e.Position)
				}
			}
			if history[2].Erased || history[2].ID != erasure.ID {
				t.Errorf("the erasure reads back erased %v, id %s", history[2].Erased, history[2].ID)
			}
			payloads, metadata := storedRows(t, s, gone)
			for i := range 2 {
				if strings.Contains(payloads[i]+metadata[i], "Lead ") {
					t.Errorf("a stored row of the erased lead holds its name")
				}
			}

			all, err := s.ReadAll(ctx, 0, 100, eventstore.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if !all[0].Erased || all[1].Erased || all[1].Data.Name != "Lead 2" || !all[2].Erased {
				t.Errorf("ReadAll: erased %v %v %v, the kept lead's name %q", all[0].Erased, all[1].Erased, all[2].Erased, all[1].Data.Name)
			}
			envelopes, err := s.ReadEnvelopes(ctx, 0, 100, eventstore.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if !envelopes[0].Erased || string(envelopes[0].Data) != "{}" || envelopes[1].Erased || !strings.Contains(string(envelopes[1].Data), "Lead 2") {
				t.Errorf("envelopes: %v %s, %v %s", envelopes[0].Erased, envelopes[0].Data, envelopes[1].Erased, envelopes[1].Data)
			}
			// What a projection folds: ReadAll without the raw bodies, versions and hashes.
			folded, err := s.ReadWithoutRaw(ctx, 0, 100, eventstore.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(folded) != len(all) {
				t.Fatalf("ReadWithoutRaw read %d events, ReadAll %d", len(folded), len(all))
			}
			for i, e := range all {
				e.Raw, e.Version, e.Hash, e.RawSHA256 = nil, 0, "", ""
				if !reflect.DeepEqual(folded[i], e) {
					t.Errorf("ReadWithoutRaw, event %d:\n got %+v\nwant %+v", e.Position, folded[i], e)
				}
			}
			reader, err := s.NewChainReader(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			chain, err := reader.ReadChain(ctx, 0, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !chain[0].Erased || chain[0].Raw != nil || chain[1].Erased || !bytes.Equal(chain[1].Raw, before[1].Raw) {
				t.Errorf("ReadChain: erased %v raw %q; kept erased %v", chain[0].Erased, chain[0].Raw, chain[1].Erased)
			}
			checkChain(t, s, 4)

			sub, err := s.Subscribe(ctx, "erase-test", eventstore.SubscribeConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			for i := range 4 {
				msg := <-sub.Messages
				e, err := eventstore.DecodeMessage(msg)
				if err != nil {
					t.Fatal(err)
				}
				msg.Ack()
				if wantErased := i == 0 || i == 2; e.Erased != wantErased || (wantErased && (len(e.Raw) != 0 || e.Data.Name != "")) {
					t.Errorf("subscriber, event %d: erased %v, raw %q, name %q", e.Position, e.Erased, e.Raw, e.Data.Name)
				}
				if i == 1 && (e.Data.Name != "Lead 2" || !bytes.Equal(e.Raw, before[1].Raw)) {
					t.Errorf("subscriber: the kept lead reads %q %q", e.Data.Name, e.Raw)
				}
			}

			// The vendor sends the lead again: new data, a new key, readable; the old stays erased.
			back, err := s.Append(ctx, newEvent("leadflo", "gone", 5))
			if err != nil {
				t.Fatal(err)
			}
			history, err = s.ReadStream(ctx, gone)
			if err != nil {
				t.Fatal(err)
			}
			if last := history[len(history)-1]; last.ID != back[0].ID || last.Erased || last.Data.Name != "Lead 5" || !history[0].Erased {
				t.Errorf("after the lead came back: last %s erased %v name %q; first erased %v", last.ID, last.Erased, last.Data.Name, history[0].Erased)
			}
			if _, err := s.ReadStream(ctx, kept); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An erasure in the same batch as the lead's events: those before it are erased, those after
// it are sealed under a new key.
func TestEraseInsideABatch(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := openStore(t, eventstoretest.URL(t, backend))
			ctx := context.Background()
			first := newEvent("leadflo", "batch", 1)
			erasure := domain.NewErasure(first.LeadID, "leadflo", "ops", time.Now())
			if _, err := s.Append(ctx, first, erasure, newEvent("leadflo", "batch", 2)); err != nil {
				t.Fatal(err)
			}
			history, err := s.ReadStream(ctx, first.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if !history[0].Erased || history[1].Type != domain.LeadErased || history[2].Erased || history[2].Data.Name != "Lead 2" {
				t.Errorf("erased %v, %s, erased %v %q", history[0].Erased, history[1].Type, history[2].Erased, history[2].Data.Name)
			}
		})
	}
}

// A store written before sealing gets its events sealed on migrate, once: they read back the
// same, no row holds them in plain text, the chain is unchanged and the log is append-only again.
func TestMigrationSealsStoredEvents(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			url := eventstoretest.URL(t, backend)
			s := openStore(t, url)
			ctx := context.Background()
			for i := range 6 {
				if _, err := s.Append(ctx, newEvent("leadflo", []string{"a", "b"}[i%2], i)); err != nil {
					t.Fatal(err)
				}
			}
			written := checkChain(t, s, 6)
			eventstoretest.AllowTampering(t, s.DB(), backend)
			if err := eventstore.Unseal(ctx, s); err != nil {
				t.Fatal(err)
			}
			if payloads, _ := storedRows(t, s, written[0].LeadID); payloads[0] != string(written[0].Raw) {
				t.Fatalf("unsealed payload %q, want the raw body", payloads[0])
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			migrated := openStore(t, url)
			read := checkChain(t, migrated, 6)
			for i, e := range read {
				w := written[i]
				if e.Hash != w.Hash || !bytes.Equal(e.Raw, w.Raw) || e.Data.Name != w.Data.Name || e.Erased {
					t.Errorf("event %d after sealing: hash %v, raw %v, name %q", e.Position, e.Hash == w.Hash, bytes.Equal(e.Raw, w.Raw), e.Data.Name)
				}
				payloads, metadata := storedRows(t, migrated, e.LeadID)
				for j := range payloads {
					if strings.Contains(payloads[j]+metadata[j], "Lead ") {
						t.Fatalf("lead %s: a row holds its name in plain text after the migration", e.LeadID)
					}
				}
			}
			if _, err := migrated.DB().ExecContext(ctx, `DELETE FROM ledger_events`); err == nil {
				t.Error("after the migration the log accepts a DELETE")
			}
		})
	}
}
