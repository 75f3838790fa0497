package pipedrive

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// personWrite is a validated person create or update body.
type personWrite struct {
	name           *string // nil: absent
	emails, phones []contact
	hasE, hasP     bool           // emails, phones present: they replace the person's lists
	custom         map[string]any // merged into the person's; a null value clears that field
}

// createPerson is POST /api/v2/persons. API v2 answers a create with 200, not 201.
func (s *Server) createPerson(w http.ResponseWriter, r *http.Request) {
	pw, body, problem := s.readPersonWrite(r)
	if problem == "" && (pw.name == nil || *pw.name == "") {
		problem = "Validation failed: name: Parameter 'name' is required"
	}
	if problem == "" {
		problem = s.rejected(body)
	}
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	s.mu.Lock()
	p := &person{name: *pw.name, emails: pw.emails, phones: pw.phones, custom: map[string]any{}}
	applyCustom(p.custom, pw.custom)
	s.insertPerson(p)
	out := p.v2()
	s.mu.Unlock()
	writeData(w, http.StatusOK, out, nil)
}

// updatePerson is PATCH /api/v2/persons/{id}: only the fields sent change; emails and phones,
// when sent, replace the person's lists.
func (s *Server) updatePerson(w http.ResponseWriter, r *http.Request) {
	pw, body, problem := s.readPersonWrite(r)
	if problem == "" && pw.name != nil && *pw.name == "" {
		problem = "Validation failed: name: Parameter 'name' must not be empty"
	}
	s.mu.Lock()
	p, status, msg := s.lookupPerson(r.PathValue("id"))
	s.mu.Unlock()
	if p == nil {
		writeError(w, status, msg)
		return
	}
	if problem == "" {
		problem = s.rejected(body)
	}
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	s.mu.Lock()
	if s.persons[p.id] != p { // deleted while the hook ran
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Person not found")
		return
	}
	if pw.name != nil {
		p.name = *pw.name
	}
	if pw.hasE {
		s.indexEmails(p, false)
		p.emails = pw.emails
		s.indexEmails(p, true)
	}
	if pw.hasP {
		p.phones = pw.phones
	}
	applyCustom(p.custom, pw.custom)
	p.updateTime = s.now().UTC()
	out := p.v2()
	s.mu.Unlock()
	writeData(w, http.StatusOK, out, nil)
}

// rejected runs the SetReject hook, outside s.mu so that the hook may call the Server.
func (s *Server) rejected(body map[string]any) string {
	s.mu.Lock()
	fn := s.reject
	s.mu.Unlock()
	if fn == nil {
		return ""
	}
	return fn(body)
}

// readPersonWrite decodes and validates a person write body. A non-empty problem is the 400
// message to send; the first of several problems, in field order, is the one reported.
func (s *Server) readPersonWrite(r *http.Request) (personWrite, map[string]any, string) {
	body, problem := decodeBody(r)
	if problem != "" {
		return personWrite{}, nil, problem
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pw personWrite
	for _, k := range keys {
		v := body[k]
		switch {
		case !personFields[k]:
			return pw, body, fmt.Sprintf("Validation failed: %s: Parameter is not allowed for this request", k)
		case k == "name":
			name, ok := v.(string)
			if !ok {
				return pw, body, "Validation failed: name: Parameter 'name' must be a string"
			}
			name = strings.TrimSpace(name)
			pw.name = &name
		case k == "emails" || k == "phones":
			list, problem := readContacts(k, v)
			if problem != "" {
				return pw, body, problem
			}
			if k == "emails" {
				pw.emails, pw.hasE = list, true
			} else {
				pw.phones, pw.hasP = list, true
			}
		case k == "custom_fields":
			custom, ok := v.(map[string]any)
			if !ok {
				return pw, body, "Validation failed: custom_fields: must be an object"
			}
			for key := range custom {
				if !customKey.MatchString(key) {
					return pw, body, fmt.Sprintf("Validation failed: custom_fields: Unknown custom field key '%s'", key)
				}
			}
			pw.custom = custom
		}
	}
	return pw, body, ""
}

// readContacts validates an emails or phones list: objects with a non-empty string value, an
// optional boolean primary and an optional string label.
func readContacts(field string, v any) ([]contact, string) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Sprintf("Validation failed: %s: must be an array", field)
	}
	list := make([]contact, 0, len(items))
	for i, item := range items {
		obj, ok := item.(map[string]any)
		value, _ := obj["value"].(string)
		if !ok || strings.TrimSpace(value) == "" {
			return nil, fmt.Sprintf("Validation failed: %s[%d].value: must be a non-empty string", field, i)
		}
		c := contact{Value: strings.TrimSpace(value)}
		if p, present := obj["primary"]; present {
			if c.Primary, ok = p.(bool); !ok {
				return nil, fmt.Sprintf("Validation failed: %s[%d].primary: must be a boolean", field, i)
			}
		}
		if l, present := obj["label"]; present {
			if c.Label, ok = l.(string); !ok {
				return nil, fmt.Sprintf("Validation failed: %s[%d].label: must be a string", field, i)
			}
		}
		list = append(list, c)
	}
	if len(list) > 0 && !hasPrimary(list) {
		list[0].Primary = true // Pipedrive always keeps one primary entry
	}
	return list, ""
}

// hasPrimary reports whether one of the list is primary.
func hasPrimary(list []contact) bool {
	for _, c := range list {
		if c.Primary {
			return true
		}
	}
	return false
}

// applyCustom merges written custom fields into a person's: a null clears the field.
func applyCustom(into, written map[string]any) {
	for k, v := range written {
		if v == nil {
			delete(into, k)
		} else {
			into[k] = v
		}
	}
}
