package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
)

// signatureTolerance is how far a Standard Webhooks timestamp may be from now (either way).
const signatureTolerance = 5 * time.Minute

// needsBody reports whether a source's credentials can only be checked against the body.
func needsBody(a config.Auth) bool { return a.Type == config.AuthStandardWebhooks }

// authenticate checks a request's credentials against every configured secret of the source
// (several during a rotation). Every comparison takes the same time whatever the input.
func authenticate(a config.Auth, r *http.Request, body []byte, now time.Time) bool {
	switch a.Type {
	case config.AuthBasic:
		user, pass, ok := r.BasicAuth()
		return ok && secretEqual(user, a.Username) && anySecret(pass, a.Secrets)
	case config.AuthHeaderSecret:
		return anySecret(r.Header.Get(a.Header), a.Secrets)
	case config.AuthURLToken:
		return anySecret(r.URL.Query().Get("token"), a.Secrets)
	case config.AuthStandardWebhooks:
		return verifyStandardWebhook(a.SigningKeys, r.Header, body, now)
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

// verifyStandardWebhook checks a Standard Webhooks signature: HMAC-SHA256 with the secret over
// "{webhook-id}.{webhook-timestamp}.{body}", sent as space-separated "v1,<base64>" entries.
func verifyStandardWebhook(keys [][]byte, h http.Header, body []byte, now time.Time) bool {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signatureTolerance || d < -signatureTolerance {
		return false
	}
	match := false
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range strings.Fields(sigs) {
			version, b64, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				match = true
			}
		}
	}
	return match
}
