package pipedrive

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// maxBody bounds a request body; Pipedrive's own limit is not documented, and no person or
// lead write comes near it.
const maxBody = 1 << 20

// routes registers the endpoints. API v1 answers under /v1 and /api/v1 alike, as Pipedrive
// does; v2 only under /api/v2.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /api/v2/persons/search", s.gate(costSearch, true, s.searchPersons))
	s.mux.HandleFunc("POST /api/v2/persons", s.gate(costWritePerson, false, s.createPerson))
	s.mux.HandleFunc("GET /api/v2/persons/{id}", s.gate(costGetPerson, false, s.getPerson))
	s.mux.HandleFunc("PATCH /api/v2/persons/{id}", s.gate(costWritePerson, false, s.updatePerson))
	s.mux.HandleFunc("DELETE /api/v2/persons/{id}", s.gate(costDeletePerson, false, s.deletePerson))
	for _, v1 := range []string{"/v1", "/api/v1"} {
		s.mux.HandleFunc("GET "+v1+"/leads", s.gate(costListLeads, false, s.listLeads))
		s.mux.HandleFunc("POST "+v1+"/leads", s.gate(costWriteLead, false, s.createLead))
		s.mux.HandleFunc("GET "+v1+"/leads/{id}", s.gate(costGetLead, false, s.getLead))
		s.mux.HandleFunc("PATCH "+v1+"/leads/{id}", s.gate(costWriteLead, false, s.updateLead))
		s.mux.HandleFunc("DELETE "+v1+"/leads/{id}", s.gate(costDeleteLead, false, s.deleteLead))
	}
	// Anything else, other methods on known paths included, is Pipedrive's JSON 404 rather
	// than the mux's plain-text one.
	s.mux.HandleFunc("/", s.gate(0, false, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Unknown method .")
	}))
}

// writeJSON sends v as the reply body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeData sends a success reply: {"success":true,"data":...,"additional_data":...}.
func writeData(w http.ResponseWriter, status int, data, additional any) {
	body := map[string]any{"success": true, "data": data}
	if additional != nil {
		body["additional_data"] = additional
	}
	writeJSON(w, status, body)
}

// writeError sends Pipedrive's error reply.
func writeError(w http.ResponseWriter, status int, message string) {
	info := errorInfo
	if status == http.StatusNotFound {
		info = "Object was not found."
	}
	writeJSON(w, status, map[string]any{
		"success": false, "error": message, "error_info": info, "data": nil, "additional_data": nil,
	})
}

// decodeBody reads a JSON object body. A non-empty problem is the 400 message to send.
func decodeBody(r *http.Request) (body map[string]any, problem string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, "Could not read the request body"
	}
	if len(data) > maxBody {
		return nil, "Request body too large"
	}
	if err := json.Unmarshal(data, &body); err != nil || body == nil {
		return nil, "Request body must be a JSON object"
	}
	return body, ""
}

// pathInt reads a positive integer from a path or query parameter.
func pathInt(s string) (int, bool) {
	i, err := strconv.Atoi(s)
	return i, err == nil && i > 0
}

// jsonInt reads a positive integer from a decoded JSON body. Like API v2, it takes a JSON
// number only, never a numeric string ("Numeric fields no longer coerce string input").
func jsonInt(v any) (int, bool) {
	n, ok := v.(float64)
	if !ok || n != float64(int(n)) || n <= 0 {
		return 0, false
	}
	return int(n), true
}
