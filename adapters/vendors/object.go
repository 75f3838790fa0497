package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/leadledger/leadledger/domain"
)

// object is one JSON object of a body, with its fields still raw, so that unknown fields are
// kept byte for byte and numbers are never rounded through float64.
type object struct {
	path   string // "" at the top level, "data.visitor" below it; names fields in errors
	fields map[string]json.RawMessage
	used   map[string]bool
}

// decodeBody decodes a body that must be exactly one JSON object.
func decodeBody(raw []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, domain.InvalidBody("Body must be a JSON object")
		}
		return nil, domain.InvalidBody("Invalid JSON: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	if fields == nil {
		return nil, domain.InvalidBody("Body must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, domain.InvalidBody("Invalid JSON: unexpected data after the object")
	}
	return newObject("", fields), nil
}

func newObject(path string, fields map[string]json.RawMessage) *object {
	return &object{path: path, fields: fields, used: make(map[string]bool, len(fields))}
}

func (o *object) name(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// raw returns a field's bytes, or nil when it is absent or null.
func (o *object) raw(key string) json.RawMessage {
	o.used[key] = true
	v := o.fields[key]
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

// has reports whether the field is present, even as null.
func (o *object) has(key string) bool {
	_, ok := o.fields[key]
	return ok
}

// str returns an optional string field ("" when absent or null).
func (o *object) str(key string) (string, error) {
	v := o.raw(key)
	if v == nil {
		return "", nil
	}
	if s, ok := plainString(v); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", domain.InvalidField(o.name(key), "must be a string")
	}
	return s, nil
}

// plainString reads a JSON string without escapes, which is most of a vendor's strings, as
// json.Unmarshal would, without its reflection: v is one value of a body the decoder has
// already checked, so it holds no control character; no backslash and only its two quotes
// mean it is one string with nothing to unescape, and valid UTF-8 that nothing is replaced.
func plainString(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v[1:], '"') != len(v)-2 ||
		bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// timeStr returns an optional string field the vendor documents as a time, kept as sent but
// for a NUL character, which no time holds and PostgreSQL's text cannot store.
func (o *object) timeStr(key string) (string, error) {
	s, err := o.str(key)
	if err == nil && strings.ContainsRune(s, 0) {
		return "", domain.InvalidField(o.name(key), "a time must not contain a NUL character")
	}
	return s, err
}

// requiredStr returns a string field that must be present and not blank.
func (o *object) requiredStr(key string) (string, error) {
	s, err := o.str(key)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", domain.MissingField(o.name(key))
	}
	return s, nil
}

// number returns an optional number field with its exact digits ("" when absent or null).
func (o *object) number(key string) (json.Number, error) {
	v := o.raw(key)
	if v == nil {
		return "", nil
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var n any
	if err := dec.Decode(&n); err != nil {
		return "", domain.InvalidField(o.name(key), "must be a number")
	}
	num, ok := n.(json.Number)
	if !ok {
		return "", domain.InvalidField(o.name(key), "must be a number")
	}
	return num, nil
}

// boolean returns an optional boolean field (nil when absent or null).
func (o *object) boolean(key string) (*bool, error) {
	v := o.raw(key)
	if v == nil {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return nil, domain.InvalidField(o.name(key), "must be true or false")
	}
	return &b, nil
}

// object returns an optional nested object (nil when absent or null).
func (o *object) object(key string) (*object, error) {
	v := o.raw(key)
	if v == nil {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(v, &fields); err != nil || fields == nil {
		return nil, domain.InvalidField(o.name(key), "must be an object")
	}
	return newObject(o.name(key), fields), nil
}

// requiredObject returns a nested object that must be present.
func (o *object) requiredObject(key string) (*object, error) {
	obj, err := o.object(key)
	if err == nil && obj == nil {
		return nil, domain.MissingField(o.name(key))
	}
	return obj, err
}

// keep copies fields, exactly as sent, into dst under the same names (nothing for absent ones).
func (o *object) keep(dst map[string]json.RawMessage, keys ...string) {
	for _, k := range keys {
		o.used[k] = true
		if v, ok := o.fields[k]; ok {
			dst[k] = v
		}
	}
}

// unused returns the fields no parser step asked for, exactly as sent; nil when there are none.
func (o *object) unused() map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for k, v := range o.fields {
		if !o.used[k] {
			if out == nil {
				out = map[string]json.RawMessage{}
			}
			out[k] = v
		}
	}
	return out
}

// emailField returns an email field, required or not, refusing values that are not addresses.
func (o *object) emailField(key string, required bool) (string, error) {
	get := o.str
	if required {
		get = o.requiredStr
	}
	email, err := get(key)
	if err != nil || email == "" {
		return email, err
	}
	if trimmed := strings.TrimSpace(email); !strings.Contains(trimmed, "@") || strings.ContainsAny(trimmed, " \t\r\n") {
		return "", domain.InvalidField(o.name(key), "must be an email address")
	}
	return email, nil
}

// firstErr returns the first non-nil error, so a parser reports fields in document order.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func nonEmpty(m map[string]json.RawMessage) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	return m
}
