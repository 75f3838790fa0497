package pipedrive

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// lead is a stored lead.
type lead struct {
	id         string
	seq        int // creation order
	title      string
	personID   int
	originID   *string
	archived   bool
	addTime    time.Time
	updateTime time.Time
}

// export copies a stored lead for the test accessors.
func (l *lead) export() Lead {
	out := Lead{ID: l.id, Title: l.title, PersonID: l.personID, Archived: l.archived}
	if l.originID != nil {
		out.OriginID = *l.originID
	}
	return out
}

// v1 renders a lead as API v1 returns it.
func (l *lead) v1() map[string]any {
	var origin any
	if l.originID != nil {
		origin = *l.originID
	}
	return map[string]any{
		"id": l.id, "title": l.title, "owner_id": 1, "creator_id": 1, "label_ids": []string{},
		"person_id": l.personID, "organization_id": nil, "source_name": "API", "origin": "API",
		"origin_id": origin, "channel": nil, "channel_id": nil, "is_archived": l.archived,
		"was_seen": false, "value": nil, "expected_close_date": nil, "next_activity_id": nil,
		"add_time":    l.addTime.UTC().Format("2006-01-02T15:04:05.000Z"),
		"update_time": l.updateTime.UTC().Format("2006-01-02T15:04:05.000Z"),
		"visible_to":  "3",
	}
}

// listLeads is GET /v1/leads: the leads that are not archived, oldest first, optionally of one
// person_id, paged by start and limit (default 100, at most 500).
func (s *Server) listLeads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, limit := 0, 100
	if v := q.Get("start"); v != "" {
		var err error
		if start, err = strconv.Atoi(v); err != nil || start < 0 {
			writeError(w, http.StatusBadRequest, "Validation failed: start: must be a non-negative integer")
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		var ok bool
		if limit, ok = pathInt(v); !ok || limit > 500 {
			writeError(w, http.StatusBadRequest, "Validation failed: limit: must be between 1 and 500")
			return
		}
	}
	s.mu.Lock()
	var ids []string
	if v := q.Get("person_id"); v != "" {
		personID, ok := pathInt(v)
		if !ok {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "Validation failed: person_id: must be a positive integer")
			return
		}
		ids = s.byPerson[personID]
	} else {
		ids = s.allLeadIDs() // a scan; the client never lists without a person
	}
	page := []map[string]any{}
	skipped := 0
	more := false
	for _, id := range ids {
		l := s.leads[id]
		if l.archived {
			continue
		}
		if skipped < start {
			skipped++
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, l.v1())
	}
	s.mu.Unlock()
	writeData(w, http.StatusOK, page, map[string]any{"start": start, "limit": limit, "more_items_in_collection": more})
}

// allLeadIDs lists every lead's id, oldest first. Caller holds s.mu.
func (s *Server) allLeadIDs() []string {
	all := make([]*lead, 0, len(s.leads))
	for _, l := range s.leads {
		all = append(all, l)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	ids := make([]string, len(all))
	for i, l := range all {
		ids[i] = l.id
	}
	return ids
}

// createLead is POST /v1/leads: a title and a person (the fake has no organizations). The
// lead's source and origin are "API", as for every lead created through the API.
func (s *Server) createLead(w http.ResponseWriter, r *http.Request) {
	body, problem := decodeBody(r)
	title, _ := body["title"].(string)
	switch {
	case problem != "":
	case strings.TrimSpace(title) == "":
		problem = "Validation failed: title: Parameter 'title' is required"
	case body["organization_id"] != nil:
		problem = "Organization not found" // the fake holds no organizations
	case body["person_id"] == nil:
		problem = "Validation failed: A lead must be linked to a person or an organization"
	}
	var origin *string
	if problem == "" && body["origin_id"] != nil {
		o, ok := body["origin_id"].(string)
		if !ok {
			problem = "Validation failed: origin_id: must be a string"
		}
		origin = &o
	}
	personID, ok := jsonInt(body["person_id"])
	if problem == "" && !ok {
		problem = "Validation failed: person_id: must be a positive integer"
	}
	s.mu.Lock()
	if problem == "" && s.persons[personID] == nil {
		problem = "Person not found"
	}
	if problem != "" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	s.leadSeq++
	now := s.now().UTC()
	l := &lead{id: uuid.NewString(), seq: s.leadSeq, title: title, personID: personID,
		originID: origin, addTime: now, updateTime: now}
	s.leads[l.id] = l
	s.byPerson[personID] = append(s.byPerson[personID], l.id)
	out := l.v1()
	s.mu.Unlock()
	writeData(w, http.StatusCreated, out, nil)
}

// getLead is GET /v1/leads/{id}; archived leads are found too.
func (s *Server) getLead(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l := s.leads[r.PathValue("id")]
	var out map[string]any
	if l != nil {
		out = l.v1()
	}
	s.mu.Unlock()
	if out == nil {
		writeError(w, http.StatusNotFound, "requested lead not found")
		return
	}
	writeData(w, http.StatusOK, out, nil)
}

// updateLead is PATCH /v1/leads/{id}: title, person_id and is_archived; other fields are
// accepted and ignored.
func (s *Server) updateLead(w http.ResponseWriter, r *http.Request) {
	body, problem := decodeBody(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leads[r.PathValue("id")]
	if l == nil {
		writeError(w, http.StatusNotFound, "requested lead not found")
		return
	}
	title, hasTitle := body["title"].(string)
	archived, hasArchived := body["is_archived"].(bool)
	var personID int
	switch {
	case problem != "":
	case body["title"] != nil && (!hasTitle || strings.TrimSpace(title) == ""):
		problem = "Validation failed: title: must be a non-empty string"
	case body["is_archived"] != nil && !hasArchived:
		problem = "Validation failed: is_archived: must be a boolean"
	case body["person_id"] != nil:
		var ok bool
		if personID, ok = jsonInt(body["person_id"]); !ok || s.persons[personID] == nil {
			problem = "Person not found"
		}
	}
	if _, present := body["person_id"]; problem == "" && present && body["person_id"] == nil {
		problem = "Validation failed: A lead must be linked to a person or an organization"
	}
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	if hasTitle {
		l.title = title
	}
	if hasArchived {
		l.archived = archived
	}
	if personID != 0 && personID != l.personID {
		s.unlinkLead(l)
		l.personID = personID
		s.byPerson[personID] = append(s.byPerson[personID], l.id) // appended: order is by link time
	}
	l.updateTime = s.now().UTC()
	writeData(w, http.StatusOK, l.v1(), nil)
}

// deleteLead is DELETE /v1/leads/{id}.
func (s *Server) deleteLead(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leads[r.PathValue("id")]
	if l == nil {
		writeError(w, http.StatusNotFound, "requested lead not found")
		return
	}
	s.unlinkLead(l)
	delete(s.leads, l.id)
	writeData(w, http.StatusOK, map[string]any{"id": l.id}, nil)
}

// unlinkLead removes a lead from its person's list. Caller holds s.mu.
func (s *Server) unlinkLead(l *lead) {
	ids := s.byPerson[l.personID]
	if i := slices.Index(ids, l.id); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(s.byPerson, l.personID)
	} else {
		s.byPerson[l.personID] = ids
	}
}
