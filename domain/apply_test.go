package domain_test

import (
	"testing"
	"time"

	"github.com/leadledger/leadledger/domain"
)

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// wc is a WhatConverts event of lead 42 with the vendor's last_updated and a status.
func wc(typ domain.EventType, lastUpdated, status, phone string, pos int64) domain.Event {
	d := domain.LeadData{ExternalID: "42", Name: "Jeremy Helms", Status: status, Phone: phone, VendorUpdatedAt: lastUpdated}
	d.SetEmail("Hello@WhatConverts.com")
	e := domain.NewEvent("whatconverts", "whatconverts", domain.Parsed{Type: typ, LeadKey: "42", OccurredAt: lastUpdated, Data: d},
		[]byte(`{}`), t0.Add(time.Duration(pos)*time.Minute))
	e.Position = pos
	return e
}

func fold(events ...domain.Event) (domain.Lead, []domain.Outcome) {
	var l domain.Lead
	var outcomes []domain.Outcome
	for _, e := range events {
		var o domain.Outcome
		l, o = domain.Apply(l, e)
		outcomes = append(outcomes, o)
	}
	return l, outcomes
}

func TestWhatConvertsSequence(t *testing.T) {
	l, got := fold(
		wc(domain.LeadCaptured, "2026-01-01T10:00:00Z", "In Progress", "+1 704", 1),
		wc(domain.LeadUpdated, "2026-01-02T10:00:00Z", "Completed", "", 2),
		wc(domain.LeadUpdated, "2026-01-02T10:00:00Z", "Completed", "", 3),       // the same update again
		wc(domain.LeadUpdated, "2026-01-01T12:00:00Z", "Abandoned", "", 4),       // older than what was applied
		wc(domain.LeadUpdated, "2026-01-03T10:00:00Z", "Completed", "+1 980", 5), // newer: phone changes
	)
	want := []domain.Outcome{
		{Applied: true},
		{Applied: true},
		{SkipReason: domain.SkipDuplicate},
		{SkipReason: domain.SkipStale},
		{Applied: true},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: outcome %+v, want %+v", i+1, got[i], want[i])
		}
	}
	if l.Status != "Completed" || l.Phone != "+1 980" || l.EventCount != 5 || l.LastPosition != 5 {
		t.Errorf("lead = status %q phone %q count %d last %d", l.Status, l.Phone, l.EventCount, l.LastPosition)
	}
	if !l.CreatedAt.Equal(t0.Add(time.Minute)) || !l.UpdatedAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("times %v / %v must come from the events", l.CreatedAt, l.UpdatedAt)
	}
	if l.Email != "Hello@WhatConverts.com" || l.EmailNormalized != "hello@whatconverts.com" {
		t.Errorf("email %q / %q", l.Email, l.EmailNormalized)
	}
}

func TestUpdateBeforeNew(t *testing.T) {
	update := wc(domain.LeadUpdated, "2026-01-02T10:00:00Z", "Completed", "", 1)
	late := wc(domain.LeadCaptured, "2026-01-01T10:00:00Z", "In Progress", "+1 704", 2)
	l, got := fold(update, late)
	if !got[0].Applied || l.EventCount != 2 {
		t.Fatalf("the update must create the lead: %+v", got)
	}
	if l.Status != "Completed" {
		t.Errorf("the late new overwrote the newer status with %q", l.Status)
	}
	if l.Phone != "+1 704" || !got[1].Applied {
		t.Errorf("the late new must still fill what the update lacked: phone %q, outcome %+v", l.Phone, got[1])
	}
	onlyOlder := wc(domain.LeadCaptured, "2026-01-01T10:00:00Z", "In Progress", "", 3)
	if _, o := domain.Apply(l, onlyOlder); o.SkipReason != domain.SkipStale {
		t.Errorf("an older new with nothing to fill: %+v, want stale", o)
	}
}

func TestVendorFlagsAreKept(t *testing.T) {
	e := wc(domain.LeadCaptured, "2026-01-01T10:00:00Z", "x", "", 1)
	yes, no := true, false
	e.Data.Spam, e.Data.Duplicate = &yes, &no
	l, _ := fold(e)
	if !l.Spam || l.Duplicate {
		t.Errorf("spam %v duplicate %v, want true false", l.Spam, l.Duplicate)
	}
}

func TestConversationBeforeVisitor(t *testing.T) {
	lf := func(typ domain.EventType, at string, d domain.LeadData, pos int64) domain.Event {
		e := domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: typ, LeadKey: "vis_xyz", OccurredAt: at, Data: d}, []byte(`{}`), t0)
		e.Position = pos
		return e
	}
	ended := lf(domain.ConversationEnded, "2025-03-01T14:28:00.000Z",
		domain.LeadData{ExternalID: "vis_xyz", Conversation: &domain.Conversation{ID: "conv_789", MessageCount: "12"}}, 1)
	visitor := lf(domain.LeadCaptured, "2025-03-01T14:22:00.000Z", domain.LeadData{ExternalID: "vis_xyz", Name: "Sarah Johnson"}, 2)
	l, got := fold(ended)
	if !got[0].Applied || len(l.Conversations) != 1 || l.Name != "" {
		t.Fatalf("placeholder lead = %+v", l)
	}
	l, o := domain.Apply(l, visitor)
	if !o.Applied || l.Name != "Sarah Johnson" || len(l.Conversations) != 1 || l.ID != visitor.LeadID {
		t.Fatalf("visitor did not fill the placeholder: %+v %+v", o, l)
	}
}

func TestApplyDoesNotChangeItsInput(t *testing.T) {
	l, _ := fold(wc(domain.LeadCaptured, "2026-01-01T10:00:00Z", "a", "", 1))
	before := l.Clocks["status"]
	domain.Apply(l, wc(domain.LeadUpdated, "2026-01-05T10:00:00Z", "b", "", 2))
	if l.Clocks["status"] != before || l.Status != "a" {
		t.Fatal("Apply changed the lead it was given")
	}
}
