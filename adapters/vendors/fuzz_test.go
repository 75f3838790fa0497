package vendors_test

import (
	"errors"
	"testing"

	"github.com/leadledger/leadledger/adapters/vendors"
	"github.com/leadledger/leadledger/domain"
)

// fuzzParser checks what must hold for any input: no panic, and either a usable event or a
// refusal the sender can read.
func fuzzParser(f *testing.F, vendor string, seeds ...string) {
	for _, s := range seeds {
		f.Add(example(f, s))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"data":{"visitor":{"id":1e400}},"lead_id":"-1"}`))
	parse, _ := vendors.ForVendor(vendor)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := parse(raw)
		if err != nil {
			var invalid *domain.InvalidPayloadError
			if !errors.As(err, &invalid) || err.Error() == "" {
				t.Fatalf("refusal is not an InvalidPayloadError with a message: %v", err)
			}
			return
		}
		if !p.Type.Valid() || p.LeadKey == "" {
			t.Fatalf("accepted body gave type %q and lead key %q", p.Type, p.LeadKey)
		}
	})
}

func FuzzConversica(f *testing.F) { fuzzParser(f, "conversica", "conversica-lead.json") }

func FuzzWhatConverts(f *testing.F) {
	fuzzParser(f, "whatconverts", "whatconverts-chat-new.json", "whatconverts-phone-call-update.json",
		"whatconverts-web-form-new.json", "whatconverts-transaction-bigid.json")
}

func FuzzLeadFlo(f *testing.F) {
	fuzzParser(f, "leadflo", "leadflo-visitor-created.json", "leadflo-conversation-ended.json")
}

func FuzzSensei(f *testing.F) {
	fuzzParser(f, "sensei", "sensei-lead-created.json", "sensei-flat.json")
}
