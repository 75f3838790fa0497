package sealed

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeySize is the length of a master key: AES-256.
const KeySize = 32

// keyIDLen is the length of a key id in hex digits (8 bytes of a hash).
const keyIDLen = 16

// keyIDDomain separates key ids from any other SHA-256 of the same key, so an id found in the
// database cannot be matched against a fingerprint of the key published elsewhere.
const keyIDDomain = "leadledger sealed key id\x00"

// keyID names a key without revealing it: 8 bytes of a domain-separated SHA-256, in hex.
func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte(keyIDDomain), key...))
	return hex.EncodeToString(sum[:keyIDLen/2])
}

// validKeyID reports whether id has the shape keyID gives.
func validKeyID(id string) bool {
	if len(id) != keyIDLen {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// ParseKey decodes a master key as given in configuration, the environment or a key file:
// 32 bytes as base64 (standard or URL alphabet, padded or not) or as hex, with surrounding
// space trimmed. Its errors wrap ErrInvalidKey and never quote the text.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	// A 32-byte key is 64 characters in hex and 43 or 44 in base64, so no text is a key in
	// both; but a wrong-length text may decode either way (64 hex digits are also base64 of
	// 48 bytes), so the error names every reading there was.
	var readings []string
	if key, err := hex.DecodeString(text); err == nil {
		if len(key) == KeySize {
			return key, nil
		}
		readings = append(readings, fmt.Sprintf("hex decodes to %d bytes", len(key)))
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if key, err := enc.DecodeString(text); err == nil {
			if len(key) == KeySize {
				return key, nil
			}
			// The four alphabets agree on a text's length whenever they all read it.
			readings = append(readings, fmt.Sprintf("base64 decodes to %d bytes", len(key)))
			break
		}
	}
	if len(readings) == 0 {
		return nil, fmt.Errorf("%w: neither base64 nor hex (%d characters; want 44 base64 characters or 64 hex digits)", ErrInvalidKey, len(text))
	}
	return nil, fmt.Errorf("%w: %s, want %d", ErrInvalidKey, strings.Join(readings, ", "), KeySize)
}
