package standardwebhooks_test

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
)

// The Standard Webhooks specification's published test vector: the verifier must accept what
// any conforming signer produces, and the signer must produce what any conforming verifier expects.
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
		if got := standardwebhooks.Verify(c.keys, h, []byte(c.body), c.now); got != c.want {
			t.Errorf("%s: verified = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSignMatchesSpecVector(t *testing.T) {
	key, err := standardwebhooks.DecodeSecret("whsec_" + vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := standardwebhooks.Headers(key, vectorID, time.Unix(1614265330, 0), []byte(vectorBody))
	if got := h.Get("webhook-signature"); got != vectorSignature {
		t.Errorf("signature = %q, want the spec's %q", got, vectorSignature)
	}
	if got := h.Get("webhook-timestamp"); got != vectorTimestamp {
		t.Errorf("timestamp = %q, want %q", got, vectorTimestamp)
	}
	if got := h.Get("webhook-id"); got != vectorID {
		t.Errorf("id = %q, want %q", got, vectorID)
	}
}

func TestDecodeSecret(t *testing.T) {
	for secret, ok := range map[string]bool{"whsec_" + vectorSecret: true, vectorSecret: false, "whsec_!!": false, "whsec_": false} {
		if _, err := standardwebhooks.DecodeSecret(secret); (err == nil) != ok {
			t.Errorf("DecodeSecret(%q) error = %v, want ok=%v", secret, err, ok)
		}
	}
}
