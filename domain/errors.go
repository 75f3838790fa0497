package domain

import (
	"errors"
	"fmt"
)

// ErrVersionConflict is returned when an event is appended at a stream version that is taken.
var ErrVersionConflict = errors.New("stream version already exists")

// ErrNotFound is returned when a lead or an event does not exist.
var ErrNotFound = errors.New("not found")

// InvalidPayloadError says why a webhook body cannot become an event. Its message is safe to
// show to the sender: it names the field or the problem, in the vendors' own wording.
type InvalidPayloadError struct {
	Field   string // the offending field, "" when the problem is the body as a whole
	Problem string // "missing", "wrong type", or a free description
}

func (e *InvalidPayloadError) Error() string {
	switch {
	case e.Field == "":
		return e.Problem
	case e.Problem == "missing":
		return "Missing required field: " + e.Field
	default:
		return fmt.Sprintf("Invalid field %s: %s", e.Field, e.Problem)
	}
}

// MissingField is the error for a required field that is absent or empty.
func MissingField(field string) error { return &InvalidPayloadError{Field: field, Problem: "missing"} }

// InvalidField is the error for a field that is present but unusable.
func InvalidField(field, problem string) error {
	return &InvalidPayloadError{Field: field, Problem: problem}
}

// InvalidBody is the error for a body that is not usable at all (not JSON, not an object, ...).
func InvalidBody(problem string) error { return &InvalidPayloadError{Problem: problem} }
