package config

import (
	"crypto/sha256"
	"crypto/subtle"
)

// TokenOf finds the token a bearer secret belongs to. It compares the secret with every
// secret of every token, each in constant time over SHA-256 digests (which hides the secrets'
// lengths too), so the time taken says nothing about which token, if any, matched.
func TokenOf(tokens []Token, given string) (Token, bool) {
	var found Token
	ok := false
	if given == "" {
		return found, false
	}
	g := sha256.Sum256([]byte(given))
	for _, t := range tokens {
		for _, secret := range t.Secrets {
			s := sha256.Sum256([]byte(secret))
			if subtle.ConstantTimeCompare(g[:], s[:]) == 1 {
				found, ok = t, true
			}
		}
	}
	return found, ok
}
