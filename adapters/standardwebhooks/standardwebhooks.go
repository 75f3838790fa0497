// Package standardwebhooks signs and verifies webhooks as the Standard Webhooks specification
// describes: HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" with a "whsec_" secret,
// sent as space-separated "v1,<base64>" entries in the webhook-signature header.
// The ledger verifies vendors' webhooks with it and signs its own deliveries to sinks.
package standardwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a Standard Webhooks request.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Tolerance is how far a timestamp may be from now, either way, for Verify to accept it.
const Tolerance = 5 * time.Minute

// DecodeSecret decodes a secret, "whsec_" followed by base64, into its signing key.
func DecodeSecret(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("a standard webhooks secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New("a standard webhooks secret must be whsec_ followed by base64")
	}
	return key, nil
}

// Sign returns the webhook-signature value of a message: "v1,<base64 HMAC-SHA256>".
func Sign(key []byte, id string, timestamp time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(timestamp.Unix(), 10), body))
}

// Headers returns the three headers of a signed message.
func Headers(key []byte, id string, timestamp time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(timestamp.Unix(), 10))
	h.Set(HeaderSignature, Sign(key, id, timestamp, body))
	return h
}

// Verify reports whether h carries a valid signature of body by one of keys (several during a
// rotation), with a timestamp within Tolerance of now. The comparison is constant-time, and
// every key and signature is checked whatever matched first.
func Verify(keys [][]byte, h http.Header, body []byte, now time.Time) bool {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return false
	}
	match := false
	for _, key := range keys {
		want := mac(key, id, ts, body)
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

func mac(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return m.Sum(nil)
}
