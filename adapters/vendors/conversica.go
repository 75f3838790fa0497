package vendors

import (
	"strings"

	"github.com/leadledger/leadledger/domain"
)

// ParseConversica parses a Conversica website-chat lead. Conversica sends no lead id and no
// time, so the lead key is the normalised email; transcript timestamps stay as sent.
func ParseConversica(raw []byte) (domain.Parsed, error) {
	o, err := decodeBody(raw)
	if err != nil {
		return domain.Parsed{}, err
	}
	first, errFirst := o.requiredStr("firstName")
	last, errLast := o.requiredStr("lastName")
	email, errEmail := o.emailField("email", true)
	history, errHistory := o.requiredStr("conversationHistory")
	if err := firstErr(errFirst, errLast, errEmail, errHistory); err != nil {
		return domain.Parsed{}, err
	}
	d := domain.LeadData{
		FirstName:    first,
		LastName:     last,
		Name:         strings.TrimSpace(first + " " + last),
		Conversation: &domain.Conversation{Transcript: history},
	}
	d.SetEmail(email)
	d.Extra = o.unused() // clientId and any custom field Conversica adds on request
	return domain.Parsed{Type: domain.LeadCaptured, LeadKey: domain.EmailLeadKey(email), Data: d}, nil
}
