package standardwebhooks_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/standardwebhooks"
)

// What Verify must hold for any input: what is signed verifies, with either key of a rotation;
// the same headers over a changed body do not; arbitrary headers never panic, and are accepted
// only with a timestamp within the tolerance.
func FuzzVerify(f *testing.F) {
	f.Add("msg_2Lx", []byte(`{"type":"lead.created","data":{"email":"a@b.c"}}`), "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=", int64(0))
	f.Add("", []byte{}, "", int64(1)<<40)
	f.Add("id", []byte("body"), "v1, v1,==== v2,abc v1,", int64(-301))
	old, current := []byte("a rotated-out secret key"), []byte("the current secret key, 32 bytes")
	keys := [][]byte{current, old}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, id string, body []byte, signatures string, skew int64) {
		if id != "" {
			for _, key := range keys {
				signed := standardwebhooks.Headers(key, id, now, body)
				if !standardwebhooks.Verify(keys, signed, body, now) {
					t.Fatalf("a message signed with one of the keys does not verify: id %q", id)
				}
				if standardwebhooks.Verify(keys, signed, append(body[:len(body):len(body)], 'x'), now) {
					t.Fatalf("a changed body verifies: id %q", id)
				}
			}
		}
		h := http.Header{}
		h.Set(standardwebhooks.HeaderID, id)
		h.Set(standardwebhooks.HeaderTimestamp, strconv.FormatInt(now.Unix()+skew, 10))
		h.Set(standardwebhooks.HeaderSignature, signatures)
		if standardwebhooks.Verify(keys, h, body, now) && (skew > int64(standardwebhooks.Tolerance.Seconds()) || skew < -int64(standardwebhooks.Tolerance.Seconds())) {
			t.Fatalf("accepted a timestamp %d s away from now", skew)
		}
	})
}
