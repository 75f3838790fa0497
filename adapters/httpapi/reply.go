package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// reply is the body of every error and of the ingest acknowledgement: Conversica's own
// {"status","message"} shape, with the status as a string as Conversica documents it.
type reply struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, reply{Status: strconv.Itoa(status), Message: message})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "Not found")
}
