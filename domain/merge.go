package domain

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// merger applies one event's fields to a lead, each field by its own clock.
type merger struct {
	lead    *Lead
	clock   string
	times   vendorTimes
	changed bool
}

func (m *merger) apply(e Event) {
	d, l := e.Data, m.lead
	m.str("external_id", &l.ExternalID, d.ExternalID)
	m.str("first_name", &l.FirstName, d.FirstName)
	m.str("last_name", &l.LastName, d.LastName)
	m.str("name", &l.Name, d.Name)
	if m.str("email", &l.Email, d.Email) {
		l.EmailNormalized = d.EmailNormalized
	}
	m.str("phone", &l.Phone, d.Phone)
	m.str("company", &l.Company, d.Company)
	m.str("status", &l.Status, d.Status)
	score := string(l.Score)
	if m.str("score", &score, string(d.Score)) {
		l.Score = json.Number(score)
	}
	m.flag("spam", &l.Spam, d.Spam)
	m.flag("duplicate", &l.Duplicate, d.Duplicate)
	for k, v := range d.Attribution {
		cur := l.Attribution[k]
		if m.str("attribution."+k, &cur, v) {
			l.Attribution = setKey(l.Attribution, k, cur)
		}
	}
	for k, v := range d.CustomFields {
		if m.take("custom_fields."+k, !bytes.Equal(l.CustomFields[k], v)) {
			l.CustomFields = setKey(l.CustomFields, k, v)
		}
	}
	if c := d.Conversation; c != nil {
		m.conversation(*c)
	}
}

// take reports whether a field should get the event's value, and records its clock if so.
// A field takes a value unless it holds a newer one; an equal value changes nothing.
func (m *merger) take(field string, differs bool) bool {
	cur, has := m.lead.Clocks[field]
	order := m.times.compare(cur, m.clock)
	if has && order > 0 {
		return false
	}
	if !has || order < 0 {
		m.lead.Clocks = setKey(m.lead.Clocks, field, m.clock)
	}
	if differs {
		m.changed = true
	}
	return differs
}

// str merges a string field; an empty value means the vendor did not send it.
func (m *merger) str(field string, dst *string, v string) bool {
	if v == "" || !m.take(field, *dst != v) {
		return false
	}
	*dst = v
	return true
}

func (m *merger) flag(field string, dst *bool, v *bool) {
	if v != nil && m.take(field, *dst != *v) {
		*dst = *v
	}
}

// conversation adds a conversation, or completes the one with the same id.
func (m *merger) conversation(c Conversation) {
	l := m.lead
	for i, have := range l.Conversations {
		if c.ID != "" && have.ID == c.ID || c.ID == "" && have.Transcript == c.Transcript {
			if !reflect.DeepEqual(have, c) && m.take("conversations."+c.ID, true) {
				l.Conversations[i] = c
			}
			return
		}
	}
	l.Conversations = append(l.Conversations, c)
	m.changed = true
}

func setKey[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}
