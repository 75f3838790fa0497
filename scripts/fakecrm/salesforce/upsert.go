package salesforce

import (
	"maps"
	"net/http"
	"strings"
)

// maxCollection is sObject Collections' limit of records per request.
const maxCollection = 200

// rolledBack is the error every otherwise valid record gets when allOrNone undoes the request.
var rolledBack = recordError{
	StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
	Message:    "Record rolled back because not all records were valid and the request was using AllOrNone header",
	Fields:     []string{},
}

// serveUpsertOne is PATCH /sobjects/Lead/{field}/{value}: 201 created, 200 updated (with a
// body since API 46.0), 300 when the value matches several Leads, 400 when the record fails.
func (s *Server) serveUpsertOne(w http.ResponseWriter, r *http.Request, version, field, value string) {
	var body map[string]any
	if !decodeBody(w, r, &body) {
		return
	}
	fields, perr := fieldValues(body)
	if perr != nil {
		writeErrors(w, http.StatusBadRequest, *perr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	field, ok := s.matchField(field)
	if !ok {
		notExternalID(w, field)
		return
	}
	for k := range fields {
		// The doc: don't repeat the external id field (or Id) in the body. The message is
		// this fake's; the docs only say an error is generated.
		if c := s.store.canonical(k); c == field || c == "Id" {
			writeRecordErrors(w, []recordError{{StatusCode: "INVALID_FIELD",
				Message: "Don't specify " + c + " in the request body of an upsert by external id", Fields: []string{c}}})
			return
		}
	}
	fields[field] = value
	res := s.upsert(&txn{}, field, fields, allowSave(r))
	switch {
	case len(res.matches) > 1:
		writeJSON(w, http.StatusMultipleChoices, leadURLs(version, res.matches))
	case len(res.errs) > 0:
		writeRecordErrors(w, res.errs)
	case res.created:
		writeJSON(w, http.StatusCreated, upsertResult{ID: &res.id, Success: true, Errors: []recordError{}, Created: &res.created})
	default:
		writeJSON(w, http.StatusOK, upsertResult{ID: &res.id, Success: true, Errors: []recordError{}, Created: &res.created})
	}
}

// serveUpsertMany is sObject Collections upsert: up to 200 Leads matched on {field}, processed
// in order, 200 with one UpsertResult each. With allOrNone any failure undoes them all.
func (s *Server) serveUpsertMany(w http.ResponseWriter, r *http.Request, field string) {
	var body struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if len(body.Records) > maxCollection {
		writeErrors(w, http.StatusBadRequest, apiError{"EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"})
		return
	}
	records := make([]map[string]string, len(body.Records))
	for i, rec := range body.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		if typ == "" {
			writeErrors(w, http.StatusBadRequest, apiError{"INVALID_TYPE", "Must send a concrete entity type."})
			return
		}
		if !strings.EqualFold(typ, "Lead") {
			writeErrors(w, http.StatusBadRequest, apiError{"INVALID_TYPE", "The list can contain objects only of the type in the request URI: Lead"})
			return
		}
		fields, perr := fieldValues(rec)
		if perr != nil {
			writeErrors(w, http.StatusBadRequest, *perr)
			return
		}
		records[i] = fields
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	field, ok := s.matchField(field)
	if !ok {
		notExternalID(w, field)
		return
	}
	keys := make([]string, len(records))
	seen := map[string]int{}
	for i, rec := range records {
		for k, v := range rec {
			if s.store.canonical(k) == field {
				keys[i] = v
			}
		}
		if keys[i] != "" {
			seen[strings.ToLower(keys[i])]++
		}
	}

	tx := &txn{}
	results := make([]upsertResult, len(records))
	failed := false
	for i, rec := range records {
		var res result
		switch {
		case keys[i] == "":
			// A record without its key: the SOAP upsert's error, which the REST docs don't list.
			res.errs = []recordError{{StatusCode: "MISSING_ARGUMENT", Message: field + " not specified", Fields: []string{}}}
		case seen[strings.ToLower(keys[i])] > 1:
			// Every record sharing a key in one request fails and none is saved, as Data Loader
			// reports it ("Duplicate external id specified"); the REST docs are silent on it.
			res.errs = []recordError{{StatusCode: "DUPLICATE_VALUE", Message: "Duplicate external id specified: " + keys[i], Fields: []string{field}}}
		default:
			res = s.upsert(tx, field, rec, allowSave(r))
		}
		if len(res.errs) > 0 {
			failed = true
			results[i] = upsertResult{Success: false, Errors: res.errs}
			continue
		}
		results[i] = upsertResult{ID: &res.id, Success: true, Errors: []recordError{}, Created: &res.created}
	}
	if body.AllOrNone && failed {
		tx.rollback(s.store)
		for i := range results {
			if results[i].Success {
				results[i] = upsertResult{Success: false, Errors: []recordError{rolledBack}}
			}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

// allowSave reads Sforce-Duplicate-Rule-Header (e.g. "allowSave=true; includeRecordDetails=false").
func allowSave(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Sforce-Duplicate-Rule-Header"), ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(k, "allowSave") && strings.EqualFold(strings.TrimSpace(v), "true") {
			return true
		}
	}
	return false
}

// txn remembers what a request changed, so allOrNone can undo it.
type txn struct {
	undo []undo
}

type undo struct {
	id   string
	prev map[string]string // nil: the Lead was created
}

func (tx *txn) rollback(st *store) {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		u := tx.undo[i]
		if u.prev == nil {
			st.remove(u.id)
		} else {
			st.replace(u.id, u.prev)
		}
	}
	tx.undo = nil
}

// result is what became of one record.
type result struct {
	id      string
	created bool
	errs    []recordError
	matches []string // set when the key matched several Leads
}

// upsert writes one record matched on field (its value is in fields): it creates the Lead or
// merges the fields into the one it matches, after the checks a real org runs on save. The
// caller holds s.mu.
func (s *Server) upsert(tx *txn, field string, fields map[string]string, allowSave bool) result {
	incoming := make(map[string]string, len(fields))
	for k, v := range fields {
		incoming[s.store.learn(k)] = v
	}
	key := incoming[field]
	matches := s.store.find(field, key)
	if len(matches) > 1 {
		return result{matches: matches, errs: []recordError{{StatusCode: "DUPLICATE_EXTERNAL_ID",
			Message: "Lead: more than one record found for external id field: [" + strings.Join(matches, ", ") + "]",
			Fields:  []string{field}}}}
	}
	if _, ok := incoming["Id"]; ok {
		return result{errs: []recordError{{StatusCode: "INVALID_FIELD",
			Message: "Don't set Id in an upsert by external id", Fields: []string{"Id"}}}}
	}
	if s.reject != nil {
		if code, msg := s.reject(maps.Clone(incoming)); code != "" {
			return result{errs: []recordError{{StatusCode: code, Message: msg, Fields: []string{}}}}
		}
	}

	var id string
	merged := map[string]string{}
	if len(matches) == 1 {
		id = matches[0]
		merged = maps.Clone(s.store.leads[id].fields)
	}
	for k, v := range incoming {
		if v == "" {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	if errs := s.validate(id, field, merged, allowSave); len(errs) > 0 {
		return result{errs: errs}
	}
	if id == "" {
		id = s.store.create(merged)
		tx.undo = append(tx.undo, undo{id: id})
		return result{id: id, created: true}
	}
	tx.undo = append(tx.undo, undo{id: id, prev: s.store.leads[id].fields})
	s.store.replace(id, merged)
	return result{id: id}
}
