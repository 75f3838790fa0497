package pipedrive

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

func TestMemo(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := newMemo()
	m.now = func() time.Time { return now }
	r := crm.Record{Key: "k", Fields: map[string]string{"email": "a@b.c"}}
	fp := fingerprint(r)
	out := crm.Outcome{ExternalID: "7", ExternalIDs: map[string]string{"person_id": "7", "lead_id": "L"}}
	m.keep("k", fp, progress{personID: 7, leadID: "L"}, &out)
	out.ExternalIDs["lead_id"] = "changed by the caller"

	got, ok := m.finished("k", fp)
	if !ok || got.ExternalIDs["lead_id"] != "L" {
		t.Fatalf("finished = %+v, %v", got, ok)
	}
	r.Fields["email"] = "other@b.c"
	if _, ok := m.finished("k", fingerprint(r)); ok {
		t.Fatal("a changed record was answered from the memo")
	}
	if p := m.progress("k"); p.personID != 7 {
		t.Fatalf("progress of a changed record lost its ids: %+v", p)
	}
	now = now.Add(memoTTL + time.Second)
	if p := m.progress("k"); p.personID != 0 {
		t.Fatalf("expired progress kept: %+v", p)
	}
	for i := 0; i < memoMax+5; i++ {
		m.keep(fmt.Sprint(i), "", progress{}, nil)
	}
	if len(m.entries) > memoMax {
		t.Fatalf("%d entries, more than %d", len(m.entries), memoMax)
	}
	m.forget([]crm.Record{{Key: fmt.Sprint(memoMax + 4)}})
	if _, ok := m.entries[fmt.Sprint(memoMax+4)]; ok {
		t.Fatal("forget kept the entry")
	}
}

func TestPersonChanges(t *testing.T) {
	cur := person{
		ID: 1, Name: "Jane",
		Emails:       []contact{{Value: "Jane@Example.com", Primary: true, Label: "home"}},
		Phones:       []contact{{Value: "+1 (555) 0100", Primary: true}},
		CustomFields: map[string]any{"n": 42.0, "addr": map[string]any{"value": "1 Main St"}, "t": "x"},
	}
	same := wanted{name: "Jane", email: "jane@example.com", phone: "+15550100",
		custom: map[string]string{"n": "42", "addr": "1 Main St", "t": "x"}}
	if pw := personChanges(cur, same); !pw.empty() {
		t.Fatalf("no change, yet %+v", pw)
	}
	pw := personChanges(cur, wanted{email: "new@example.com", phone: "+1 555 0199", custom: map[string]string{"t": "y", "u": "z"}})
	if pw.Name != "" || len(pw.Emails) != 2 || pw.Emails[0] != cur.Emails[0] || pw.Emails[1].Primary ||
		pw.Emails[1].Value != "new@example.com" || len(pw.Phones) != 2 || len(pw.CustomFields) != 2 {
		t.Fatalf("changes %+v", pw)
	}
	if pw := personChanges(person{}, wanted{email: "a@b.c"}); !pw.Emails[0].Primary {
		t.Fatalf("a person's first email is not primary: %+v", pw)
	}
}

func TestWanted(t *testing.T) {
	w := wantedOf(crm.Record{Key: "k1", Fields: map[string]string{"email": " a@b.c ", "name": "  ", "title": ""}})
	if w.personName() != "a@b.c" || w.leadTitle() != "a@b.c" || len(w.custom) != 0 {
		t.Fatalf("%+v", w)
	}
	if w := wantedOf(crm.Record{Key: "k1"}); w.personName() != "k1" || w.leadTitle() != "k1" {
		t.Fatalf("%+v", w)
	}
	if leadOrigin("a") == leadOrigin("b") || len(leadOrigin("a")) != len("leadledger:")+24 {
		t.Fatalf("origins %q %q", leadOrigin("a"), leadOrigin("b"))
	}
}
