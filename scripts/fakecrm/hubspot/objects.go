package hubspot

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxPage is the largest page GET /crm/v3/objects/contacts answers; a larger limit is
// lowered to it (HubSpot's documented maximum is 100; what it does above is not documented).
const maxPage = 100

type propertiesInput struct {
	Properties map[string]string `json:"properties"`
}

// serveCreate is POST /crm/v3/objects/contacts: 201 with the new contact, or 409 when its
// email (or another unique value) is already a contact's.
func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request) {
	var in propertiesInput
	if err := decode(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	c, err := s.create(in.Properties, time.Now())
	var o object
	if err == nil {
		o = render(c, nil)
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

// serveUpdate is PATCH /crm/v3/objects/contacts/{id}[?idProperty=]: the properties given are
// written, "" clears one; 404 for an unknown contact.
func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request) {
	var in propertiesInput
	if err := decode(w, r, &in); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	o, err := s.update(r.PathValue("id"), r.URL.Query().Get("idProperty"), in.Properties)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) update(id, idProperty string, properties map[string]string) (object, *apiError) {
	c, err := s.find(id, idProperty)
	if err != nil {
		return object{}, err
	}
	props := prepare(properties, 0)
	if err := s.check(c, c.ID, props, claims{}); err != nil {
		return object{}, err
	}
	return render(s.apply(write{target: c, id: c.ID, props: props}, time.Now()), nil), nil
}

// serveRead is GET /crm/v3/objects/contacts/{id}[?idProperty=][&properties=a,b].
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	c, err := s.find(r.PathValue("id"), q.Get("idProperty"))
	var o object
	if err == nil {
		o = render(c, propertyNames(q.Get("properties")))
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// find resolves a path id: a contact id, or with idProperty a unique property's value.
// s.mu is held.
func (s *Server) find(id, idProperty string) (*Contact, *apiError) {
	if idProperty != "" && idProperty != "hs_object_id" && !s.unique[idProperty] {
		return nil, badRequest("Unable to perform update/upsert by non-unique 0-1 property")
	}
	if idProperty == "" {
		idProperty = "hs_object_id"
	}
	c := s.lookup(idProperty, id)
	if c == nil {
		return nil, &apiError{status: http.StatusNotFound, message: "resource not found"}
	}
	return c, nil
}

type listReply struct {
	Results []object `json:"results"`
	Paging  *paging  `json:"paging,omitempty"`
}

type paging struct {
	Next struct {
		After string `json:"after"`
		Link  string `json:"link"`
	} `json:"next"`
}

// serveList is GET /crm/v3/objects/contacts?limit=&after=&properties=: contacts oldest first,
// with paging.next.after while more remain. after is an opaque cursor, as HubSpot's is.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, badRequest("limit must be a positive integer"))
			return
		}
		limit = min(n, maxPage)
	}
	start := 0
	if v := q.Get("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, badRequest("after is not a valid paging cursor"))
			return
		}
		start = n
	}
	names := propertyNames(q.Get("properties"))
	var reply listReply
	s.mu.Lock()
	end := min(start+limit, len(s.contacts))
	for i := start; i < end; i++ {
		reply.Results = append(reply.Results, render(s.contacts[i], names))
	}
	more := end < len(s.contacts)
	s.mu.Unlock()
	if reply.Results == nil {
		reply.Results = []object{}
	}
	if more {
		reply.Paging = &paging{}
		reply.Paging.Next.After = strconv.Itoa(end)
		reply.Paging.Next.Link = "/crm/v3/objects/contacts?after=" + reply.Paging.Next.After
	}
	writeJSON(w, http.StatusOK, reply)
}

// propertyNames splits ?properties=a,b; without it HubSpot answers its default properties.
func propertyNames(param string) []string {
	if param == "" {
		return defaultProperties
	}
	return strings.Split(param, ",")
}
