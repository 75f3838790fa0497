package salesforce

import (
	"encoding/json"
	"net/http"
)

// apiError is a call-level error as REST API sends it: the body is a JSON array of
// {"message","errorCode"} objects.
type apiError struct {
	code, message string
}

// recordError is one record's error in an sObject Collections result ({"statusCode",
// "message","fields"}); a single-record upsert sends the same with errorCode for statusCode.
type recordError struct {
	StatusCode      string           `json:"statusCode"`
	Message         string           `json:"message"`
	Fields          []string         `json:"fields"`
	DuplicateResult *duplicateResult `json:"duplicateResult,omitempty"`
}

// duplicateResult is the detail Salesforce attaches to DUPLICATES_DETECTED.
type duplicateResult struct {
	AllowSave               bool          `json:"allowSave"`
	DuplicateRule           string        `json:"duplicateRule"`
	DuplicateRuleEntityType string        `json:"duplicateRuleEntityType"`
	ErrorMessage            string        `json:"errorMessage"`
	MatchResults            []matchResult `json:"matchResults"`
}

type matchResult struct {
	EntityType   string        `json:"entityType"`
	Rule         string        `json:"rule"`
	Size         int           `json:"size"`
	Success      bool          `json:"success"`
	MatchRecords []matchRecord `json:"matchRecords"`
}

type matchRecord struct {
	MatchConfidence float64        `json:"matchConfidence"`
	Record          map[string]any `json:"record"`
}

// upsertResult is one UpsertResult: id is null when the record failed.
type upsertResult struct {
	ID      *string       `json:"id"`
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
	Created *bool         `json:"created,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	body := make([]map[string]string, 0, len(errs))
	for _, e := range errs {
		body = append(body, map[string]string{"message": e.message, "errorCode": e.code})
	}
	writeJSON(w, status, body)
}

// writeRecordErrors answers a single-record upsert that failed on the record itself.
func writeRecordErrors(w http.ResponseWriter, errs []recordError) {
	type restError struct {
		Message         string           `json:"message"`
		ErrorCode       string           `json:"errorCode"`
		Fields          []string         `json:"fields"`
		DuplicateResult *duplicateResult `json:"duplicateResult,omitempty"`
	}
	body := make([]restError, 0, len(errs))
	for _, e := range errs {
		body = append(body, restError{e.Message, e.StatusCode, e.Fields, e.DuplicateResult})
	}
	writeJSON(w, http.StatusBadRequest, body)
}

// writeOAuthError answers the token endpoint as an OAuth 2.0 server does.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
