// Package sealed encrypts credentials at rest (CRM tokens, client secrets, webhook secrets)
// with AES-256-GCM under a master key, and loads or creates that key.
//
// A sealed text reads "sealed:v1:<key id>:<base64url(context tag || nonce || ciphertext)>".
// The key id names the key that sealed it, so a Keyring holding several keys (during a
// rotation) knows which one opens it. The context (e.g. "sink:<id>:secret") is GCM
// additional data, so a sealed value copied into another row or field does not open.
package sealed

import (
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every sealed text, whatever its version. IsSealed goes by it alone so that a
// damaged value, or one written by a newer version, is never taken for a plaintext secret
// and sealed a second time, which would bury it.
const Prefix = "sealed:"

// prefixV1 starts the only version this package writes.
const prefixV1 = Prefix + "v1:"

// Errors of Open and of key handling; match them with errors.Is. None of their messages
// carries a key, a plaintext or a sealed text.
var (
	ErrNotSealed     = errors.New("not a sealed text")
	ErrMalformed     = errors.New("malformed sealed text")
	ErrUnknownKey    = errors.New("sealed with a key the keyring does not hold")
	ErrWrongContext  = errors.New("sealed for another context")
	ErrTampered      = errors.New("sealed text does not authenticate: it was altered")
	ErrAlreadySealed = errors.New("refusing to seal a text that is already sealed")
	ErrInvalidKey    = errors.New("invalid master key")
)

// IsSealed reports whether s is a sealed text rather than a plaintext secret. It does not
// check that s opens; Open does.
func IsSealed(s string) bool {
	return strings.HasPrefix(s, Prefix)
}

// SealedWith returns the id of the key a sealed text names, or "" if s is not a sealed text
// of a version this package reads.
func SealedWith(s string) string {
	id, _, err := split(s)
	if err != nil {
		return ""
	}
	return id
}

// split parses a v1 sealed text into its key id and its base64url payload.
func split(s string) (id, payload string, err error) {
	if !IsSealed(s) {
		return "", "", ErrNotSealed
	}
	rest, ok := strings.CutPrefix(s, prefixV1)
	if !ok {
		return "", "", fmt.Errorf("%w: unsupported version (this build reads v1)", ErrMalformed)
	}
	id, payload, ok = strings.Cut(rest, ":")
	if !ok || !validKeyID(id) {
		return "", "", fmt.Errorf("%w: no valid key id", ErrMalformed)
	}
	return id, payload, nil
}
