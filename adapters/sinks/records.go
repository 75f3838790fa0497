package sinks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/projections"
)

// LeadReader is the lead view as CRM sinks read it: a CRM gets a record's current state.
type LeadReader interface {
	Position(ctx context.Context) (int64, error)
	LeadKeys(ctx context.Context, ids []uuid.UUID) ([]projections.LeadKey, error)
	LeadsByID(ctx context.Context, ids []uuid.UUID) ([]domain.Lead, error)
	LeadsByEmail(ctx context.Context, emails []string) ([]domain.Lead, error)
}

// record is one CRM record in the making: a person (every lead that shares a normalised email)
// or one lead, merged and mapped.
type record struct {
	key      string
	leadIDs  []uuid.UUID // sorted
	fields   map[string]string
	hash     string // of fields: what a write would send
	position int64  // the newest event of its leads: the one this write syncs
}

// recordKey is the record a lead belongs to in a sink: its normalised email, or its id (with
// key lead_id, or when it has no email).
func recordKey(s Sink, id uuid.UUID, email string) string {
	if s.RecordKey == KeyEmail && strings.Contains(email, "@") { // "n/a" is nobody's address
		return email
	}
	return leadKeyPrefix + id.String()
}

// leadKeyPrefix marks a record key that is a lead id, so it never reads as an email.
const leadKeyPrefix = "lead:"

// wants reports whether a sink takes a lead of a source at all: its filter's sources.
func wants(s Sink, source string) bool {
	return len(s.Filter.Sources) == 0 || slices.Contains(s.Filter.Sources, source)
}

// recordsOf builds the records of the given keys from the lead view, in key order. A key no
// lead (of the sink's sources) has any more is left out.
func recordsOf(ctx context.Context, leads LeadReader, s Sink, keys []string) ([]record, error) {
	var ids []uuid.UUID
	var emails []string
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, leadKeyPrefix); ok {
			if id, err := uuid.Parse(id); err == nil {
				ids = append(ids, id)
			}
		} else {
			emails = append(emails, k)
		}
	}
	members := map[string][]domain.Lead{}
	add := func(l domain.Lead) {
		if wants(s, l.Source) {
			k := recordKey(s, l.ID, l.EmailNormalized)
			members[k] = append(members[k], l)
		}
	}
	byID, err := leads.LeadsByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read leads: %w", err)
	}
	for _, l := range byID {
		add(l)
	}
	if len(emails) > 0 {
		byEmail, err := leads.LeadsByEmail(ctx, emails)
		if err != nil {
			return nil, fmt.Errorf("read leads by email: %w", err)
		}
		for _, l := range byEmail {
			add(l)
		}
	}
	out := make([]record, 0, len(keys))
	for _, k := range keys {
		if m := members[k]; len(m) > 0 {
			out = append(out, buildRecord(k, m, s.Mapping))
		}
	}
	return out, nil
}

// keysOf are the records the leads with these ids belong to now, and those they belonged to
// when last written (a lead whose email changed leaves its old record, written again without
// it), each once, in order.
func (m *Manager) keysOf(ctx context.Context, s Sink, ids []uuid.UUID) ([]string, error) {
	now, err := m.cfg.Leads.LeadKeys(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read leads: %w", err)
	}
	before, err := m.registry.linkedKeys(ctx, s.ID, ids)
	if err != nil {
		return nil, err
	}
	keys := slices.Collect(maps.Values(before))
	for _, l := range now {
		if wants(s, l.Source) {
			keys = append(keys, recordKey(s, l.ID, l.EmailNormalized))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// buildRecord merges a record's leads field by field: the most recently updated lead with a
// value for a field gives it. sources and lead_ids list every lead merged.
func buildRecord(key string, leads []domain.Lead, m Mapping) record {
	slices.SortFunc(leads, func(a, b domain.Lead) int { // newest first
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.LastPosition, a.LastPosition))
	})
	r := record{key: key, fields: make(map[string]string, len(m))}
	var sources, ids []string
	for _, l := range leads {
		r.leadIDs = append(r.leadIDs, l.ID)
		r.position = max(r.position, l.LastPosition)
		ids = append(ids, l.ID.String())
		if !slices.Contains(sources, l.Source) {
			sources = append(sources, l.Source)
		}
	}
	slices.SortFunc(r.leadIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	slices.Sort(ids)
	slices.Sort(sources)
	for _, from := range m.sortedKeys() {
		var value string
		switch from {
		case "sources":
			value = strings.Join(sources, ", ")
		case "lead_ids":
			value = strings.Join(ids, ", ")
		default:
			for _, l := range leads {
				if value = leadValue(l, from); value != "" {
					break
				}
			}
		}
		if value != "" {
			r.fields[m[from]] = value
		}
	}
	r.hash = fieldsHash(r.fields)
	return r
}

// fieldsHash identifies what a write sends, so an unchanged record is not sent again.
func fieldsHash(fields map[string]string) string {
	h := sha256.New()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(k), k, len(fields[k]), fields[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// crmRecord is what the CRM client gets.
func (r record) crmRecord(externalIDs map[string]string) crm.Record {
	return crm.Record{Key: r.key, Fields: r.fields, ExternalIDs: externalIDs}
}
