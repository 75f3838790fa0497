package hubspot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// apiError is a refusal, written as HubSpot's error body.
type apiError struct {
	status    int
	category  string // VALIDATION_ERROR, CONFLICT, INVALID_AUTHENTICATION, ...
	message   string
	errorType string // RATE_LIMIT, for a 429
	policy    string // TEN_SECONDLY_ROLLING or DAILY, for a 429
}

func (e *apiError) Error() string { return e.message }

// errorBody is HubSpot's error shape; a client must treat every field but status and message
// as optional, and 429s carry errorType and policyName instead of category.
type errorBody struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	Category      string `json:"category,omitempty"`
	ErrorType     string `json:"errorType,omitempty"`
	PolicyName    string `json:"policyName,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{
		Status:        "error",
		Message:       e.message,
		CorrelationID: uuid.NewString(),
		Category:      e.category,
		ErrorType:     e.errorType,
		PolicyName:    e.policy,
	})
}

// badRequest is a 400 VALIDATION_ERROR about the request rather than a property value.
func badRequest(message string) *apiError {
	return &apiError{status: http.StatusBadRequest, category: "VALIDATION_ERROR", message: message}
}

// validationResult is one entry of the list HubSpot embeds, as JSON text, in the message of a
// refused property value.
type validationResult struct {
	IsValid bool   `json:"isValid"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Name    string `json:"name,omitempty"`
}

// invalidValue is HubSpot's refusal of a property value, e.g. for an invalid email:
// 400 VALIDATION_ERROR, "Property values were not valid: [{"isValid":false,...}]".
func invalidValue(property, code, message string) *apiError {
	return badRequest("Property values were not valid: " +
		string(marshal([]validationResult{{Message: message, Error: code, Name: property}})))
}

// marshal encodes v without escaping <, > and &, as HubSpot's messages do not.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("hubspot fake: encoding a reply: " + err.Error())
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(marshal(v))
}

// object is a contact as HubSpot's v3 API answers it.
type object struct {
	ID                 string            `json:"id"`
	Properties         map[string]string `json:"properties"`
	CreatedAt          string            `json:"createdAt"`
	UpdatedAt          string            `json:"updatedAt"`
	Archived           bool              `json:"archived"`
	New                *bool             `json:"new,omitempty"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

// defaultProperties are what HubSpot returns for a contact read without ?properties=.
var defaultProperties = []string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}

// render answers c with the named properties (those c has, and HubSpot's own three), or with
// all of them when names is nil. s.mu is held.
func render(c *Contact, names []string) object {
	props := make(map[string]string, len(names)+3)
	if names == nil {
		for k, v := range c.Properties {
			props[k] = v
		}
	} else {
		for _, k := range names {
			if v, ok := c.Properties[k]; ok {
				props[k] = v
			}
		}
	}
	props["hs_object_id"] = c.ID
	props["createdate"] = stamp(c.CreatedAt)
	props["lastmodifieddate"] = stamp(c.UpdatedAt)
	return object{ID: c.ID, Properties: props, CreatedAt: stamp(c.CreatedAt), UpdatedAt: stamp(c.UpdatedAt)}
}

// stamp is HubSpot's timestamp format: UTC, milliseconds.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
