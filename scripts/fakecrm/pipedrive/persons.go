package pipedrive

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// person is a stored person.
type person struct {
	id         int
	name       string
	emails     []contact
	phones     []contact
	custom     map[string]any
	addTime    time.Time
	updateTime time.Time
}

// contact is one email or phone of a person, as API v2 writes and reads it.
type contact struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Label   string `json:"label"`
}

// personFields are the top-level fields API v2 accepts in a person write. Pipedrive's v2
// validates strictly; an unknown field (a v1-style custom field key at the top level, say) is
// refused here, which the docs imply but do not spell out.
var personFields = map[string]bool{
	"name": true, "owner_id": true, "org_id": true, "add_time": true, "update_time": true,
	"emails": true, "phones": true, "visible_to": true, "label_ids": true,
	"marketing_status": true, "custom_fields": true,
}

// customKey is the shape of a custom field's key: a 40-character hash. The fake knows no
// account's field list, so a key of another shape stands for an unknown field and is refused.
var customKey = regexp.MustCompile(`^[0-9a-f]{40}$`)

// export copies a stored person for the test accessors.
func (p *person) export() Person {
	out := Person{ID: p.id, Name: p.name, CustomFields: maps.Clone(p.custom)}
	for _, e := range p.emails {
		out.Emails = append(out.Emails, e.Value)
	}
	for _, ph := range p.phones {
		out.Phones = append(out.Phones, ph.Value)
	}
	return out
}

// v2 renders a person as API v2 returns it, copied so that it can be encoded after s.mu is
// released.
func (p *person) v2() map[string]any {
	first, last, _ := strings.Cut(p.name, " ")
	return map[string]any{
		"id": p.id, "name": p.name, "first_name": first, "last_name": last,
		"owner_id": 1, "org_id": nil, "picture_id": nil, "label_ids": []int{},
		"add_time": stamp(p.addTime), "update_time": stamp(p.updateTime),
		"emails": nonNil(slices.Clone(p.emails)), "phones": nonNil(slices.Clone(p.phones)),
		"is_deleted": false, "visible_to": 3, "custom_fields": nonNilMap(maps.Clone(p.custom)),
	}
}

// insertPerson gives p the next id and stores it. Caller holds s.mu.
func (s *Server) insertPerson(p *person) {
	p.id = s.nextID
	s.nextID++
	p.addTime, p.updateTime = s.now().UTC(), s.now().UTC()
	s.persons[p.id] = p
	s.indexEmails(p, true)
}

// indexEmails adds p's emails to the email index, or removes them. Caller holds s.mu.
func (s *Server) indexEmails(p *person, add bool) {
	for _, e := range p.emails {
		key := strings.ToLower(e.Value)
		ids := s.byEmail[key]
		i, found := slices.BinarySearch(ids, p.id)
		switch {
		case add && !found:
			s.byEmail[key] = slices.Insert(ids, i, p.id)
		case !add && found:
			if ids = slices.Delete(ids, i, i+1); len(ids) == 0 {
				delete(s.byEmail, key)
			} else {
				s.byEmail[key] = ids
			}
		}
	}
}

// searchPersons is GET /api/v2/persons/search. The fake searches emails only: exactly
// (case-insensitive, through the index) with exact_match=true, else by substring, a scan of
// the index meant for small demos.
func (s *Server) searchPersons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term := q.Get("term")
	exact := q.Get("exact_match") == "true" || q.Get("exact_match") == "1"
	switch {
	case term == "" || (!exact && len(term) < 2):
		writeError(w, http.StatusBadRequest, "Validation failed: term: Search term must be at least 2 characters long")
		return
	case q.Get("fields") != "" && !slices.Contains(strings.Split(q.Get("fields"), ","), "email"):
		writeError(w, http.StatusBadRequest, "The fake Pipedrive searches the email field only")
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, ok := pathInt(v)
		if !ok || n > 500 {
			writeError(w, http.StatusBadRequest, "Validation failed: limit: must be between 1 and 500")
			return
		}
		limit = n
	}
	needle := strings.ToLower(term)
	s.mu.Lock()
	var ids []int
	if exact {
		ids = slices.Clone(s.byEmail[needle])
	} else {
		for email, withIt := range s.byEmail {
			if strings.Contains(email, needle) {
				ids = append(ids, withIt...)
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	items := make([]map[string]any, 0, min(len(ids), limit))
	for _, id := range ids[:min(len(ids), limit)] {
		items = append(items, map[string]any{"result_score": 1, "item": s.persons[id].searchItem()})
	}
	s.mu.Unlock()
	writeData(w, http.StatusOK, map[string]any{"items": items}, map[string]any{"next_cursor": nil})
}

// searchItem renders a person as a search result item: emails and phones as plain strings.
func (p *person) searchItem() map[string]any {
	e := p.export()
	return map[string]any{
		"id": p.id, "type": "person", "name": p.name,
		"emails": nonNil(e.Emails), "phones": nonNil(e.Phones),
		"visible_to": 3, "owner": map[string]any{"id": 1}, "organization": nil,
		"custom_fields": []string{}, "notes": []string{},
	}
}

// getPerson is GET /api/v2/persons/{id}.
func (s *Server) getPerson(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, status, msg := s.lookupPerson(r.PathValue("id"))
	var out map[string]any
	if p != nil {
		out = p.v2()
	}
	s.mu.Unlock()
	if out == nil {
		writeError(w, status, msg)
		return
	}
	writeData(w, http.StatusOK, out, nil)
}

// lookupPerson finds the person of a path id, or says how to refuse. Caller holds s.mu.
func (s *Server) lookupPerson(raw string) (*person, int, string) {
	id, ok := pathInt(raw)
	if !ok {
		return nil, http.StatusBadRequest, "Validation failed: id: must be a positive integer"
	}
	p := s.persons[id]
	if p == nil {
		return nil, http.StatusNotFound, "Person not found"
	}
	return p, 0, ""
}

// deletePerson is DELETE /api/v2/persons/{id}. Pipedrive keeps a deleted person for 30 days
// but no longer serves it; the fake forgets it at once, and its leads with it, since a lead
// must be linked to a person or an organization (the docs do not say what becomes of them).
func (s *Server) deletePerson(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, status, msg := s.lookupPerson(r.PathValue("id"))
	if p == nil {
		writeError(w, status, msg)
		return
	}
	s.indexEmails(p, false)
	delete(s.persons, p.id)
	for _, id := range s.byPerson[p.id] {
		delete(s.leads, id)
	}
	delete(s.byPerson, p.id)
	writeData(w, http.StatusOK, map[string]any{"id": p.id}, nil)
}

// stamp renders a time as API v2 does (RFC 3339, UTC).
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// nonNil makes an empty list render as [] rather than null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// nonNilMap makes an empty map render as {} rather than null.
func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
