package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBody bounds a request body; 200 Leads are far below it.
const maxBody = 16 << 20

// serveData routes an authenticated /services/data/ request.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/services/data/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, apiError{"INVALID_URL", "malformed path segment"})
			return
		}
		parts[i] = u
	}
	version, ok := parseVersion(parts[0])
	if !ok {
		writeErrors(w, http.StatusNotFound, apiError{"NOT_FOUND", "The requested resource does not exist"})
		return
	}
	switch {
	case len(parts) == 5 && parts[1] == "sobjects" && strings.EqualFold(parts[2], "Lead"):
		switch r.Method {
		case http.MethodPatch:
			s.serveUpsertOne(w, r, parts[0], parts[3], parts[4])
		case http.MethodGet:
			s.serveGet(w, parts[0], parts[3], parts[4])
		default:
			methodNotAllowed(w, r, "GET,PATCH")
		}
	case len(parts) == 5 && parts[1] == "composite" && parts[2] == "sobjects" && strings.EqualFold(parts[3], "Lead"):
		if r.Method != http.MethodPatch {
			methodNotAllowed(w, r, "PATCH")
			return
		}
		// sObject Collections upsert exists from API version 46.0.
		if version < 46 {
			writeErrors(w, http.StatusNotFound, apiError{"NOT_FOUND", "The requested resource does not exist"})
			return
		}
		s.serveUpsertMany(w, r, parts[4])
	default: // another sObject or resource: this org only knows Lead
		writeErrors(w, http.StatusNotFound, apiError{"NOT_FOUND", "The requested resource does not exist"})
	}
}

// serveGet reads a Lead back by Id or by an external id field.
func (s *Server) serveGet(w http.ResponseWriter, version, field, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	field, ok := s.matchField(field)
	if !ok && field != "Id" {
		notExternalID(w, field)
		return
	}
	ids := s.store.find(field, value)
	switch {
	case len(ids) == 0:
		writeErrors(w, http.StatusNotFound, apiError{"NOT_FOUND", "The requested resource does not exist"})
	case len(ids) > 1:
		writeJSON(w, http.StatusMultipleChoices, leadURLs(version, ids))
	default:
		l := s.store.leads[ids[0]]
		body := map[string]any{"attributes": map[string]string{"type": "Lead", "url": leadURL(version, l.id)}, "Id": l.id}
		for k, v := range l.fields {
			body[k] = v
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// matchField returns the canonical name of field and whether it is an external id field.
func (s *Server) matchField(field string) (string, bool) {
	field = s.store.canonical(field)
	for _, f := range s.cfg.ExternalIDFields {
		if f == field {
			return field, true
		}
	}
	return field, false
}

func notExternalID(w http.ResponseWriter, field string) {
	writeErrors(w, http.StatusNotFound, apiError{"NOT_FOUND", "Provided external ID field does not exist or is not accessible: " + field})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	w.Header().Set("Allow", allowed)
	writeErrors(w, http.StatusMethodNotAllowed, apiError{"METHOD_NOT_ALLOWED",
		fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", r.Method, allowed)})
}

// parseVersion reads "v60.0" as 60.
func parseVersion(v string) (int, bool) {
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if !ok || !strings.HasPrefix(v, "v") || minor != "0" {
		return 0, false
	}
	n, err := strconv.Atoi(major)
	return n, err == nil && n >= 20
}

func leadURL(version, id string) string {
	return "/services/data/" + version + "/sobjects/Lead/" + id
}

// leadURLs is the body of a 300 Multiple Choices: the matching records' URLs.
func leadURLs(version string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = leadURL(version, id)
	}
	return out
}

// decodeBody reads a JSON body into v with numbers kept as written.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(v)
	}
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{"JSON_PARSER_ERROR", "Unexpected character or end of input in the request body: " + jsonErrorText(err)})
		return false
	}
	return true
}

func jsonErrorText(err error) string {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("at [offset %d]", syn.Offset)
	}
	return "malformed JSON"
}

// fieldValues turns a JSON record into field values. Salesforce saves an empty string as null,
// so "" and null both clear a field; a nested object (a relationship by external id) or an
// array is refused, as this fake stores flat text only.
func fieldValues(rec map[string]any) (map[string]string, *apiError) {
	out := make(map[string]string, len(rec))
	for k, v := range rec {
		if k == "attributes" {
			continue
		}
		switch v := v.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = strconv.FormatBool(v)
		default:
			return nil, &apiError{"JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize instance of %s from a JSON object or array", k)}
		}
	}
	return out, nil
}
