package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// contextTagLen is the length of the context tag that leads a sealed payload.
const contextTagLen = 4

// contextTagDomain separates context tags from other hashes of the same text.
const contextTagDomain = "leadledger sealed context\x00"

// payload is how a sealed text carries its bytes: base64url, unpadded, so that it needs no
// escaping in YAML, URLs or SQL.
var payload = base64.RawURLEncoding

// Keyring seals with its current key and opens with any key it holds. Make one with
// NewKeyring. It keeps only the ciphers, not the keys, and is safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns a keyring that seals with current and also opens texts sealed with
// older keys, as during a rotation. Every key must be KeySize bytes; a key given twice is
// held once.
func NewKeyring(current []byte, older ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: make(map[string]cipher.AEAD, 1+len(older))}
	for i, key := range append([][]byte{current}, older...) {
		which := "current key"
		if i > 0 {
			which = fmt.Sprintf("older key %d", i)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrInvalidKey, which, len(key), KeySize)
		}
		id := keyID(key)
		if i == 0 {
			k.current = id
		}
		if _, ok := k.aeads[id]; ok {
			continue
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", which, err)
		}
		// The random-nonce GCM draws a fresh 12-byte nonce from crypto/rand on every Seal and
		// carries it in front of the ciphertext, so no nonce is ever reused by our hand.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", which, err)
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// KeyID returns the id of the current key. It is not secret: sealed texts carry it.
func (k *Keyring) KeyID() string { return k.current }

// KeyIDs returns the ids of every key the keyring holds, the current one first.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		if id != k.current {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return append([]string{k.current}, ids...)
}

// String describes the keyring by its key ids only, so that logging one shows no key.
func (k *Keyring) String() string {
	return fmt.Sprintf("sealed.Keyring{current: %s, keys: %s}", k.current, strings.Join(k.KeyIDs(), ","))
}

// GoString is String, so that %#v shows no key either.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext under the current key, bound to context, which Open must be given
// again. Two seals of the same plaintext differ. It refuses a plaintext that is already a
// sealed text: that is a caller sealing twice, and the result would open to ciphertext.
func (k *Keyring) Seal(plaintext, context string) (string, error) {
	if IsSealed(plaintext) {
		return "", ErrAlreadySealed
	}
	aead := k.aeads[k.current]
	buf := make([]byte, contextTagLen, contextTagLen+aead.Overhead()+len(plaintext))
	tag := contextTag(context)
	copy(buf, tag[:])
	buf = aead.Seal(buf, nil, []byte(plaintext), additionalData(k.current, context))
	return prefixV1 + k.current + ":" + payload.EncodeToString(buf), nil
}

// Open decrypts a sealed text with the key it names. context must be the one given to Seal.
// Its errors wrap ErrNotSealed, ErrMalformed, ErrUnknownKey, ErrWrongContext or ErrTampered.
func (k *Keyring) Open(sealed, context string) (string, error) {
	id, encoded, err := split(sealed)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: key %s (this keyring holds %s)", ErrUnknownKey, id, strings.Join(k.KeyIDs(), ", "))
	}
	raw, err := payload.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("%w: payload is not unpadded base64url", ErrMalformed)
	}
	if len(raw) < contextTagLen+aead.Overhead() {
		return "", fmt.Errorf("%w: payload is %d bytes, shorter than any sealed text", ErrMalformed, len(raw))
	}
	want := contextTag(context)
	sameContext := subtle.ConstantTimeCompare(raw[:contextTagLen], want[:]) == 1
	plaintext, err := aead.Open(nil, nil, raw[contextTagLen:], additionalData(id, context))
	switch {
	case err == nil && sameContext:
		return string(plaintext), nil
	case err == nil:
		// The ciphertext authenticates under this context, so only the tag was changed.
		return "", fmt.Errorf("%w (its context tag)", ErrTampered)
	case !sameContext:
		// The tag is only a diagnosis; GCM over the whole context is what refuses it.
		return "", fmt.Errorf("%w than %q", ErrWrongContext, context)
	default:
		return "", ErrTampered
	}
}

// NeedsReseal reports whether s should be sealed (again) under the current key: it is a
// plaintext, or sealed with another key, or names no key this version can read.
func (k *Keyring) NeedsReseal(s string) bool {
	return !IsSealed(s) || SealedWith(s) != k.current
}

// additionalData binds a ciphertext to its context, and to the version and key id written
// beside it, so none of them can be changed without Open refusing the text.
func additionalData(id, context string) []byte {
	return []byte(prefixV1 + id + ":" + context)
}

// contextTag is a short hash of a context, stored in front of the nonce so that Open can tell
// "sealed for another row or field" (a caller's mistake) from "altered" (damage or attack),
// which GCM alone cannot: both fail authentication alike.
func contextTag(context string) [contextTagLen]byte {
	sum := sha256.Sum256([]byte(contextTagDomain + context))
	return [contextTagLen]byte(sum[:contextTagLen])
}

// Reseal returns a sealed text sealed again under the current key, and whether it changed: a
// text already under the current key is returned as it is (resealing is idempotent). It opens
// the text with the key it names first, so a text no key here opens is refused, never lost.
// A plaintext is refused with ErrNotSealed: sealing one is the caller's decision.
func (k *Keyring) Reseal(text, context string) (string, bool, error) {
	if !IsSealed(text) {
		return "", false, ErrNotSealed
	}
	if !k.NeedsReseal(text) {
		return text, false, nil
	}
	plaintext, err := k.Open(text, context)
	if err != nil {
		return "", false, err
	}
	resealed, err := k.Seal(plaintext, context)
	if err != nil {
		return "", false, err
	}
	return resealed, true, nil
}

// Holds reports whether the keyring holds the key with the given id.
func (k *Keyring) Holds(id string) bool {
	_, ok := k.aeads[id]
	return ok
}
