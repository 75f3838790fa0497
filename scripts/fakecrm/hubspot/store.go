package hubspot

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// write is one contact write a request will make once all of its inputs passed the checks:
// a request is refused whole or written whole.
type write struct {
	target *Contact // nil for a new contact
	id     string   // target's id, or the id the new contact will get
	props  map[string]string
	trace  string // the input's objectWriteTraceId, echoed in its result
}

// claims are the unique values the earlier inputs of one request will hold: unique property
// and normalised value → the id of the contact that will hold it.
type claims map[string]string

// normalise is how a unique property's values are compared: HubSpot treats emails without
// case (and stores them lowercased); other values exactly.
func normalise(property, value string) string {
	if property == "email" {
		return strings.ToLower(value)
	}
	return value
}

// lookup finds a contact by a unique property or by "hs_object_id". s.mu is held.
func (s *Server) lookup(property, value string) *Contact {
	if property == "hs_object_id" {
		return s.byID[value]
	}
	if idx, ok := s.index[property]; ok {
		return idx[normalise(property, value)]
	}
	return nil
}

// prepare copies the properties an input asks to write, lowercasing the email as HubSpot stores it.
func prepare(properties map[string]string, extra int) map[string]string {
	props := make(map[string]string, len(properties)+extra)
	for k, v := range properties {
		if k == "email" {
			v = strings.ToLower(strings.TrimSpace(v))
		}
		props[k] = v
	}
	return props
}

// check returns HubSpot's refusal of writing props to the contact id (target nil: a new one),
// and otherwise records the unique values it will hold in cl. s.mu is held.
func (s *Server) check(target *Contact, id string, props map[string]string, cl claims) *apiError {
	if email := props["email"]; email != "" && !validEmail(email) {
		return invalidValue("email", "INVALID_EMAIL", "Email address "+email+" is invalid")
	}
	if s.reject != nil {
		if msg := s.reject(props); msg != "" {
			return invalidValue("", "INVALID_PROPERTY_VALUE", msg)
		}
	}
	for p, v := range props {
		if v == "" || !s.unique[p] {
			continue
		}
		key := p + "\x00" + normalise(p, v)
		if holder := s.index[p][normalise(p, v)]; holder != nil && holder != target {
			return conflict(holder.ID)
		}
		// Two inputs of one request claiming one value: HubSpot answers 409 as for a stored
		// contact (a batch create with two equal emails does). The id named may be that of a
		// contact this refused request would have created.
		if other, ok := cl[key]; ok && other != id {
			return conflict(other)
		}
		cl[key] = id
	}
	return nil
}

// conflict is HubSpot's refusal of a second contact with a unique value already held. HubSpot
// documents the wording for email; the fake uses it for every unique property.
func conflict(existing string) *apiError {
	return &apiError{status: http.StatusConflict, category: "CONFLICT",
		message: "Contact already exists. Existing ID: " + existing}
}

// apply makes a checked write and returns the contact written. s.mu is held.
func (s *Server) apply(w write, now time.Time) *Contact {
	c := w.target
	if c == nil {
		c = &Contact{ID: w.id, Properties: make(map[string]string, len(w.props)), CreatedAt: now}
		s.contacts = append(s.contacts, c)
		s.byID[c.ID] = c
		if n, err := strconv.Atoi(c.ID); err == nil && n >= s.nextID {
			s.nextID = n + 1
		}
	}
	for k, v := range w.props {
		old, had := c.Properties[k]
		// An empty value clears the property, as in HubSpot.
		if v == "" {
			delete(c.Properties, k)
		} else {
			c.Properties[k] = v
		}
		if !s.unique[k] || (had && old == v) {
			continue
		}
		if had && old != "" && s.index[k][normalise(k, old)] == c {
			delete(s.index[k], normalise(k, old))
		}
		if v != "" {
			s.index[k][normalise(k, v)] = c
		}
	}
	c.UpdatedAt = now
	return c
}

// create checks and makes one new contact. s.mu is held.
func (s *Server) create(properties map[string]string, now time.Time) (*Contact, *apiError) {
	props := prepare(properties, 0)
	id := strconv.Itoa(s.nextID)
	if err := s.check(nil, id, props, claims{}); err != nil {
		return nil, err
	}
	return s.apply(write{id: id, props: props}, now), nil
}

// validEmail approximates HubSpot's check: RFC 5322-shaped, no quoted local part, and a
// domain ending in an alphabetic top-level domain. (HubSpot also requires the TLD to be in
// IANA's list, which the fake does not carry.)
func validEmail(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || len(email) > 254 || strings.ContainsAny(local, "\"@ \t\r\n()<>,;:\\[]") ||
		strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127) {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if r >= '0' && r <= '9' || r == '-' {
			return false
		}
	}
	return true
}
