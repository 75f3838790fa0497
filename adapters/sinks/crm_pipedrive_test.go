package sinks_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
	fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
)

const pipedriveToken = "pd-api-token-0123456789abcdef0123456789ab"

func newFakePipedrive(t *testing.T, cfg fakepipedrive.Config) (*fakepipedrive.Server, string) {
	t.Helper()
	cfg.Token = pipedriveToken
	fake := fakepipedrive.New(cfg)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

func pipedriveSink(t *testing.T, baseURL string) sinks.NewSink {
	return sinks.NewSink{Type: sinks.TypePipedrive, Start: "now", RateLimit: &sinks.RateLimit{},
		Config: rawConfig(t, map[string]string{"base_url": baseURL, "token": pipedriveToken})}
}

// Pipedrive has no upsert: a replay lands one person and one Pipedrive lead per person of the
// ledger, reusing a person Pipedrive already had for the email; the ids it got are kept in the
// identity map, so a second replay reads the same person and lead back instead of searching and
// creating; a live update reaches the person.
func TestPipedriveSnapshotReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		l := openCRMLedger(t, url, fastConfig())
		emails := l.people(t, 12)
		fake, base := newFakePipedrive(t, fakepipedrive.Config{})
		existing := fake.AddPerson("Existing Person", "person4@example.com") // in Pipedrive before the ledger
		sink := l.addCRMSink(t, pipedriveSink(t, base))

		rp := l.replay(t, sink.ID, false)
		if rp.RecordsWritten != int64(len(emails)) || rp.Failed != 0 || rp.Delivered != rp.Total {
			t.Errorf("replay: %+v, want %d records written and every event delivered", rp, len(emails))
		}
		persons, leads := fake.Persons(), fake.Leads()
		if len(persons) != len(emails) || len(leads) != len(emails) {
			t.Fatalf("%d persons and %d leads, want one each per person (%d), the existing person reused", len(persons), len(leads), len(emails))
		}
		records := identityMap(t, l, sink)
		for _, email := range emails {
			p := personWithEmail(t, persons, email)
			if email == "person4@example.com" && p.ID != existing.ID {
				t.Errorf("person 4 is Pipedrive person %d, want the existing person %d", p.ID, existing.ID)
			}
			if want := merged(t, l.view, email, func(l domain.Lead) string { return l.Name }); p.Name != want {
				t.Errorf("%s: name %q, want the merged view's %q", email, p.Name, want)
			}
			if want := merged(t, l.view, email, func(l domain.Lead) string { return l.Phone }); !slices.Contains(p.Phones, want) {
				t.Errorf("%s: phones %v, want the merged view's %q among them", email, p.Phones, want)
			}
			var mine []fakepipedrive.Lead
			for _, ld := range leads {
				if ld.PersonID == p.ID {
					mine = append(mine, ld)
				}
			}
			if len(mine) != 1 {
				t.Fatalf("%s: %d Pipedrive leads on person %d, want one", email, len(mine), p.ID)
			}
			rec, ok := records[email]
			if !ok {
				t.Fatalf("no identity map entry for %s", email)
			}
			if rec.ExternalIDs["person_id"] != strconv.Itoa(p.ID) || rec.ExternalIDs["lead_id"] != mine[0].ID || rec.ExternalID != strconv.Itoa(p.ID) {
				t.Errorf("%s: identity map %+v, want person_id %d and lead_id %s", email, rec, p.ID, mine[0].ID)
			}
		}

		// A second replay re-sends every record, by the remembered ids: a search or a lead
		// listing (20 API tokens each) would show the ids were not used, a create a duplicate.
		spent := fake.TokensSpent()
		rp = l.replay(t, sink.ID, false)
		if n, m := len(fake.Persons()), len(fake.Leads()); n != len(persons) || m != len(leads) || rp.RecordsWritten != int64(len(emails)) {
			t.Errorf("second replay: %d persons, %d leads (before %d, %d), %d records written", n, m, len(persons), len(leads), rp.RecordsWritten)
		}
		if cost := fake.TokensSpent() - spent; cost > 3*len(emails) {
			t.Errorf("second replay spent %d API tokens for %d unchanged records: more than reading each person (1) and lead (2) by id", cost, len(emails))
		}

		// Live: a newer phone reaches the person, which keeps its other phones.
		l.post(t, "whatconverts", "whatconverts", `{"trigger":"update","lead_id":5001,"last_updated":"2026-02-01T10:00:00Z","contact_email_address":"person1@example.com","contact_phone_number":"+15559990001"}`)
		waitFor(t, "the live update to reach Pipedrive", 20*time.Second, func() bool {
			return slices.Contains(personWithEmail(t, fake.Persons(), "person1@example.com").Phones, "+15559990001")
		})
		if n, m := len(fake.Persons()), len(fake.Leads()); n != len(persons) || m != len(leads) {
			t.Errorf("after a live update: %d persons, %d leads, want %d of each", n, m, len(persons))
		}
		if strings.Contains(l.logs.String(), pipedriveToken) {
			t.Errorf("the token is in the log")
		}
	})
}

// identityMap is a sink's identity map by record key.
func identityMap(t *testing.T, l *crmLedger, sink sinks.Sink) map[string]sinks.RecordEntry {
	t.Helper()
	out := map[string]sinks.RecordEntry{}
	for cursor := ""; ; {
		page, next, err := l.registry.Records(context.Background(), sink.ID, nil, cursor, 100)
		if err != nil {
			t.Fatalf("identity map: %v", err)
		}
		for _, r := range page {
			out[r.Key] = r
		}
		if cursor = next; cursor == "" {
			return out
		}
	}
}

// personWithEmail is the one Pipedrive person holding email (in any case).
func personWithEmail(t *testing.T, persons []fakepipedrive.Person, email string) fakepipedrive.Person {
	t.Helper()
	var found []fakepipedrive.Person
	for _, p := range persons {
		if slices.ContainsFunc(p.Emails, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), email) }) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d Pipedrive persons hold %s, want one", len(found), email)
	}
	return found[0]
}
