package httpapi

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector: our verifier must accept what
// any conforming signer produces, not only what our own test helper signs.
const (
	vectorSecret    = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // whsec_ stripped, base64
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = "1614265330"
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandardWebhooksVector(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte("a-key-being-rotated-in")
	signedAt := time.Unix(1614265330, 0)
	for _, c := range []struct {
		name      string
		keys      [][]byte
		id, body  string
		signature string
		now       time.Time
		want      bool
	}{
		{"spec vector", [][]byte{key}, vectorID, vectorBody, vectorSignature, signedAt, true},
		{"second key of a rotation", [][]byte{other, key}, vectorID, vectorBody, vectorSignature, signedAt, true},
		{"several signatures, one valid", [][]byte{key}, vectorID, vectorBody, "v1,bm9wZQ== " + vectorSignature, signedAt, true},
		{"4m59s later", [][]byte{key}, vectorID, vectorBody, vectorSignature, signedAt.Add(299 * time.Second), true},
		{"5m01s later", [][]byte{key}, vectorID, vectorBody, vectorSignature, signedAt.Add(301 * time.Second), false},
		{"5m01s earlier", [][]byte{key}, vectorID, vectorBody, vectorSignature, signedAt.Add(-301 * time.Second), false},
		{"body changed", [][]byte{key}, vectorID, `{"test": 2432232315}`, vectorSignature, signedAt, false},
		{"id changed", [][]byte{key}, "msg_other", vectorBody, vectorSignature, signedAt, false},
		{"wrong key", [][]byte{other}, vectorID, vectorBody, vectorSignature, signedAt, false},
		{"unknown version", [][]byte{key}, vectorID, vectorBody, "v2" + vectorSignature[2:], signedAt, false},
		{"no signature", [][]byte{key}, vectorID, vectorBody, "", signedAt, false},
	} {
		h := http.Header{}
		h.Set("webhook-id", c.id)
		h.Set("webhook-timestamp", vectorTimestamp)
		h.Set("webhook-signature", c.signature)
		if got := verifyStandardWebhook(c.keys, h, []byte(c.body), c.now); got != c.want {
			t.Errorf("%s: verified = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSecretComparison(t *testing.T) {
	secrets := []string{"old-secret", "new-secret"}
	for given, want := range map[string]bool{"old-secret": true, "new-secret": true, "new-secre": false, "": false, "new-secret ": false} {
		if got := anySecret(given, secrets); got != want {
			t.Errorf("anySecret(%q) = %v, want %v", given, got, want)
		}
	}
}
