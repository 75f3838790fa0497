package eventstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/leadledger/leadledger/domain"
)

// Whatever data encoding/json writes, decodeData (go-json) must read exactly as encoding/json
// does: the log's data is written by one and read by the other.
func FuzzDecodeData(f *testing.F) {
	for _, s := range []string{
		`{"email":"Jane@Example.com","score":"12.50","spam":false,"attribution":{"source":"google"},` +
			`"custom_fields":{"a":{"b" : [1, 2.0e3, "x"]},"n":null},"extra":{"z":"\u00e9\ud83d\ude00<&>"}}`,
		`{"conversation":{"id":"c1","messages":[{"role":"visitor","text":"hi"}]},"duplicate":true}`,
		`{"name":"bad \xff byte","extra":{"k":"\u0000"}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var d domain.LeadData
		if json.Unmarshal(in, &d) != nil {
			return
		}
		stored, err := json.Marshal(d)
		if err != nil {
			return
		}
		var want, got domain.LeadData
		if err := json.Unmarshal(stored, &want); err != nil {
			t.Fatalf("encoding/json cannot read its own %s: %v", stored, err)
		}
		if err := decodeData(stored, &got); err != nil {
			t.Fatalf("decodeData(%s): %v", stored, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeData(%s)\n got %#v\nwant %#v", stored, got, want)
		}
	})
}
