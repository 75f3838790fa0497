package projections

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// encodeLead must write exactly the bytes encoding/json writes, for any lead the view can fold:
// a stored state is the same whichever of the two wrote it.
func FuzzEncodeLead(f *testing.F) {
	for _, s := range []string{
		`{"email":"Jane@Example.com","score":"12.50","spam":false,"attribution":{"source":"google","medium":"<cpc>"},` +
			`"custom_fields":{"a":{"b" : [1, 2.0e3, "x"]},"n":null},"extra":{"z":"\u00e9\ud83d\ude00<&>"}}`,
		`{"conversation":{"id":"c1","messages":[{"role":"visitor","text":"hi \u2028"}]},"duplicate":true,"vendor_updated_at":"2026-01-02T03:04:05Z"}`,
		"{\"name\":\"bad \xff byte\",\"extra\":{\"k\":\"\\u0000\",\"r\":\"\xff\"}}",
		`{}`,
	} {
		f.Add([]byte(s), []byte(`{"status":"won","vendor_updated_at":"2026-02-01T00:00:00Z"}`))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		lead := domain.Lead{}
		for i, in := range [][]byte{first, second} {
			var d domain.LeadData
			if json.Unmarshal(in, &d) != nil {
				return
			}
			e := domain.Event{ID: uuid.New(), Type: domain.LeadCaptured, LeadID: uuid.MustParse("0198c7c2-7f0e-7a4e-9b1a-2d0c8f9e1a00"),
				Position: int64(i + 1), Version: int64(i + 1), Source: "s", Vendor: "whatconverts", Data: d,
				ReceivedAt: time.Date(2026, 11, 30, 12, 0, i, 0, time.UTC)}
			if i > 0 {
				e.Type = domain.LeadUpdated
			}
			lead, _ = foldEvent(lead, e)
		}
		want, err := json.Marshal(lead)
		if err != nil {
			return
		}
		got, err := encodeLead(lead)
		if err != nil || string(got) != string(want) {
			t.Fatalf("encodeLead:\n got %s (%v)\nwant %s", got, err, want)
		}
	})
}
