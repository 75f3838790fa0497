package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/standardwebhooks"
)

// needsBody reports whether a source's credentials can only be checked against the body.
func needsBody(a config.Auth) bool { return a.Type == config.AuthStandardWebhooks }

// authenticate checks a request's credentials against every configured secret of the source
// (several during a rotation). Every comparison takes the same time whatever the input.
func authenticate(a config.Auth, r *http.Request, body []byte, now time.Time) bool {
	switch a.Type {
	case config.AuthBasic:
		user, pass, ok := r.BasicAuth()
		// Both are compared whatever the other gives, so timing tells nothing of which was wrong.
		userOK, passOK := secretEqual(user, a.Username), anySecret(pass, a.Secrets)
		return ok && userOK && passOK
	case config.AuthHeaderSecret:
		return anySecret(r.Header.Get(a.Header), a.Secrets)
	case config.AuthURLToken:
		return anySecret(r.URL.Query().Get("token"), a.Secrets)
	case config.AuthStandardWebhooks:
		return standardwebhooks.Verify(a.SigningKeys, r.Header, body, now)
	}
	return false
}

// secretEqual compares two secrets in constant time. Hashing first hides their lengths too,
// which subtle.ConstantTimeCompare alone would leak.
func secretEqual(given, want string) bool {
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// anySecret reports whether given matches one of the secrets, comparing with all of them.
func anySecret(given string, secrets []string) bool {
	if given == "" {
		return false
	}
	match := false
	for _, s := range secrets {
		match = secretEqual(given, s) || match
	}
	return match
}
