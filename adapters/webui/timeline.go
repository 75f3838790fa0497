package webui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/projections"
)

// timelineEntry is one event of a lead's history: what the view made of it, what it carried,
// and the evidence that it is the event the ledger received.
type timelineEntry struct {
	ID         uuid.UUID
	Position   int64
	Version    int64
	Type       string
	Source     string
	Vendor     string
	ReceivedAt time.Time
	OccurredAt string
	Outcome    string   // applied | skipped | failed | pending
	Reason     string   // the skip reason, or the failure
	Created    bool     // the lead's first event: it made the lead
	Changes    []change // the lead view's fields it changed, when applied
	Fields     []field
	Raw        string
	RawLen     int
	RawSHA256  string
	RawCheck   string // matches (the body's SHA-256 is the stored one) | differs | erased (no body to hash)
	Hash       string
	Chain      string // verified (the hash recomputes from the one before and this event's fields) | differs
	Proof      inclusion
	// Erased says the lead's personal data was erased: the body and fields are gone for good.
	Erased bool
	// Erasure is who asked for the erasure and when, on a LeadErased event.
	Erasure *domain.Erasure
}

// change is a field of the lead view that an event changed.
type change struct {
	Name, Before, After string
}

// effect is what an event did to the lead view: made the lead, or changed these fields.
type effect struct {
	created bool
	changes []change
}

// effectsOf folds a lead's events as the view does (domain.Apply is pure, and the view folds
// each lead's events in this order, leaving out those it failed to apply) and says what each
// one did to the fields a person reads. An erasure deletes the view's row, so the fold starts
// again after it; an erased event has no data left to fold, and its effects are not shown.
func effectsOf(events []domain.Event, failed func(domain.Event) bool) []effect {
	out := make([]effect, len(events))
	var l domain.Lead
	for i, e := range events {
		if e.Type == domain.LeadErased {
			l = domain.Lead{}
			continue
		}
		if e.Erased || failed(e) {
			continue
		}
		before := viewFields(l)
		out[i].created = l.EventCount == 0
		l, _ = domain.Apply(l, e)
		after := viewFields(l)
		for _, k := range slices.Sorted(maps.Keys(after)) {
			if before[k] != after[k] {
				out[i].changes = append(out[i].changes, change{Name: k, Before: before[k], After: after[k]})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(before)) {
			if _, kept := after[k]; !kept {
				out[i].changes = append(out[i].changes, change{Name: k, Before: before[k]})
			}
		}
	}
	return out
}

// viewFields are the fields of a lead a person reads, by name; its bookkeeping (counts,
// positions, times of the fold) is left out.
func viewFields(l domain.Lead) map[string]string {
	out := map[string]string{}
	for _, f := range leadFields(l) {
		switch {
		case f.Value == "":
		case f.Name == "id", f.Name == "event_count", f.Name == "last_position", f.Name == "created_at", f.Name == "updated_at":
		case (f.Name == "spam" || f.Name == "duplicate") && f.Value == "no":
		default:
			out[f.Name] = f.Value
		}
	}
	for _, f := range sortedFields(l.Attribution) {
		out["attribution."+f.Name] = f.Value
	}
	for _, f := range customFields(l) {
		out["custom_fields."+f.Name] = f.Value
	}
	for i, c := range l.Conversations {
		name := "conversation " + c.ID
		if c.ID == "" {
			name = fmt.Sprintf("conversation %d", i+1)
		}
		out[name] = conversationSummary(c)
	}
	return out
}

// conversationSummary says what a conversation holds in a line.
func conversationSummary(c domain.Conversation) string {
	var parts []string
	if c.EndedAt != "" {
		parts = append(parts, "ended "+c.EndedAt)
	}
	if c.MessageCount != "" {
		parts = append(parts, string(c.MessageCount)+" messages")
	}
	if c.DurationSeconds != "" {
		parts = append(parts, string(c.DurationSeconds)+" s")
	}
	if c.Transcript != "" {
		parts = append(parts, fmt.Sprintf("a transcript of %d characters", utf8.RuneCountInString(c.Transcript)))
	}
	if c.LeadCaptured != nil && *c.LeadCaptured {
		parts = append(parts, "lead captured")
	}
	if len(parts) == 0 {
		return "(no details)"
	}
	return strings.Join(parts, ", ")
}

func newTimelineEntry(e domain.Event, o projections.Outcome, reached bool, p inclusion) timelineEntry {
	t := timelineEntry{ID: e.ID, Position: e.Position, Version: e.Version, Type: string(e.Type), Source: e.Source,
		Vendor: e.Vendor, ReceivedAt: e.ReceivedAt, OccurredAt: e.OccurredAt, RawSHA256: e.RawSHA256,
		Hash: e.Hash, Proof: p, Erased: e.Erased}
	switch sum := sha256.Sum256(e.Raw); {
	case e.Erased:
		t.RawCheck = "erased"
	case hex.EncodeToString(sum[:]) == e.RawSHA256:
		t.RawCheck = "matches"
	default:
		t.RawCheck = "differs"
	}
	if !e.Erased {
		t.Fields, t.Raw, t.RawLen = dataFields(e.Data), string(e.Raw), len(e.Raw)
	}
	if e.Type == domain.LeadErased {
		who := erasureOf(e)
		t.Erasure, t.Fields = &who, nil
	}
	switch {
	case o.Applied:
		t.Outcome = "applied"
	case o.Error != "":
		t.Outcome, t.Reason = "failed", o.Error
	case o.SkipReason != domain.SkipNone:
		t.Outcome, t.Reason = "skipped", string(o.SkipReason)
	case !reached:
		t.Outcome = "pending"
	default:
		t.Outcome = "skipped"
	}
	return t
}

// chainCheck recomputes an event's hash from the hash before it and the event's own fields,
// its raw_sha256 among them. The inclusion proof shows the hash is in the signed checkpoint;
// this shows the hash stands for this event: for an erased event, whose body is gone, it is
// what still proves the raw_sha256 shown is the one stored when the body came in.
func chainCheck(prev string, e domain.Event) string {
	if h, err := eventstore.ChainHash(prev, e); err == nil && h == e.Hash {
		return "verified"
	}
	return "differs"
}
