package salesforce

import (
	"maps"
	"slices"
	"strings"
)

// standardFields are Lead's standard field names. Salesforce field names are case-insensitive,
// so a body's "email" is stored as "Email"; custom fields keep the spelling first sent.
var standardFields = []string{
	"Id", "Salutation", "FirstName", "MiddleName", "LastName", "Suffix", "Name", "Title",
	"Company", "Email", "Phone", "MobilePhone", "Fax", "Website", "Street", "City", "State",
	"PostalCode", "Country", "Description", "LeadSource", "Status", "Industry", "Rating",
	"AnnualRevenue", "NumberOfEmployees", "OwnerId", "HasOptedOutOfEmail", "DoNotCall",
}

// lead is a stored Lead.
type lead struct {
	id     string
	fields map[string]string
}

func (l *lead) copy() Lead {
	return Lead{ID: l.id, Fields: maps.Clone(l.fields)}
}

// store holds the Leads and their indexes. The Server's mutex guards it.
type store struct {
	leads map[string]*lead
	order []string // ids, oldest first
	// index maps an indexed field (every external id field, and Email for the duplicate rule)
	// to the lower-cased value to the ids holding it: Salesforce matches text external ids
	// case-insensitively unless the field is marked case-sensitive.
	index map[string]map[string][]string
	names map[string]string // lower-cased field name → canonical spelling
	next  int
}

func newStore(externalIDs []string) *store {
	st := &store{leads: map[string]*lead{}, index: map[string]map[string][]string{}, names: map[string]string{}}
	for _, f := range standardFields {
		st.names[strings.ToLower(f)] = f
	}
	for _, f := range externalIDs {
		st.names[strings.ToLower(f)] = f
		st.index[f] = map[string][]string{}
	}
	st.index["Email"] = map[string][]string{}
	return st
}

// canonical returns the stored spelling of a field name.
func (st *store) canonical(name string) string {
	if c, ok := st.names[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

// learn records a custom field's spelling, so later requests in another case hit it.
func (st *store) learn(name string) string {
	c := st.canonical(name)
	st.names[strings.ToLower(c)] = c
	return c
}

// find returns the ids of the Leads whose field equals value.
func (st *store) find(field, value string) []string {
	if field == "Id" {
		if _, ok := st.leads[value]; ok {
			return []string{value}
		}
		return nil
	}
	if idx, ok := st.index[field]; ok {
		return idx[strings.ToLower(value)]
	}
	var ids []string // an unindexed field: only the test accessor Lead gets here
	for _, id := range st.order {
		if st.leads[id].fields[field] == value {
			ids = append(ids, id)
		}
	}
	return ids
}

// create stores a new Lead and returns its id.
func (st *store) create(fields map[string]string) string {
	st.next++
	id := leadID(st.next)
	l := &lead{id: id, fields: fields}
	st.leads[id] = l
	st.order = append(st.order, id)
	st.indexLead(l, true)
	return id
}

// replace sets a Lead's fields, keeping the indexes true.
func (st *store) replace(id string, fields map[string]string) {
	l := st.leads[id]
	st.indexLead(l, false)
	l.fields = fields
	st.indexLead(l, true)
}

// remove deletes a Lead (an all-or-none rollback of its creation).
func (st *store) remove(id string) {
	l, ok := st.leads[id]
	if !ok {
		return
	}
	st.indexLead(l, false)
	delete(st.leads, id)
	// A rollback removes the newest Leads first, so this is the tail in practice.
	if n := len(st.order); n > 0 && st.order[n-1] == id {
		st.order = st.order[:n-1]
	} else if i := slices.Index(st.order, id); i >= 0 {
		st.order = slices.Delete(st.order, i, i+1)
	}
}

func (st *store) indexLead(l *lead, add bool) {
	for field, idx := range st.index {
		v, ok := l.fields[field]
		if !ok || v == "" {
			continue
		}
		key := strings.ToLower(v)
		if add {
			idx[key] = append(idx[key], l.id)
			continue
		}
		ids := slices.DeleteFunc(idx[key], func(id string) bool { return id == l.id })
		if len(ids) == 0 {
			delete(idx, key)
		} else {
			idx[key] = ids
		}
	}
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// leadID makes the n-th 18-character Lead id: key prefix 00Q, a fixed pod part, a base-62
// counter, and the case-safe suffix Salesforce computes (one character per 5-character chunk,
// a bit set for each upper-case letter), so ids look and check like real ones.
func leadID(n int) string {
	b := []byte("00Q5g000000000")
	b = append(b, '0')
	for i := len(b) - 1; n > 0 && i >= 8; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	const suffix = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	for chunk := range 3 {
		flags := 0
		for j := range 5 {
			if c := b[chunk*5+j]; c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		b = append(b, suffix[flags])
	}
	return string(b)
}
