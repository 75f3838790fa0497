package vendors

import (
	"encoding/json"

	"github.com/leadledger/leadledger/domain"
)

// ParseSensei parses a Sensei AI lead, in either of the shapes its documentation shows: the
// webhook envelope {"event":"lead.created","timestamp","data":{...}}, or the flat body of its
// lead-capture API {name,email,phone,message,clientId,timestamp}.
func ParseSensei(raw []byte) (domain.Parsed, error) {
	o, err := decodeBody(raw)
	if err != nil {
		return domain.Parsed{}, err
	}
	lead := o
	if o.has("event") || o.has("data") {
		event, err := o.requiredStr("event")
		if err != nil {
			return domain.Parsed{}, err
		}
		if event != "lead.created" {
			return domain.Parsed{}, domain.InvalidField("event", `must be "lead.created"`)
		}
		if lead, err = o.requiredObject("data"); err != nil {
			return domain.Parsed{}, err
		}
	}
	timestamp, errTime := o.timeStr("timestamp")
	id, errID := lead.str("id")
	name, errName := lead.str("name")
	email, errEmail := lead.emailField("email", true)
	phone, errPhone := lead.str("phone")
	msg, errMsg := lead.str("message")
	if err := firstErr(errTime, errID, errName, errEmail, errPhone, errMsg); err != nil {
		return domain.Parsed{}, err
	}
	d := domain.LeadData{ExternalID: id, Name: name, Phone: phone, Message: msg}
	d.SetEmail(email)
	custom := map[string]json.RawMessage{}
	lead.keep(custom, "clientId", "clientName", "sessionId")
	if lead != o {
		for k, v := range lead.unused() {
			custom[k] = v
		}
	}
	d.CustomFields = nonEmpty(custom)
	d.Extra = o.unused()
	key := id
	if key == "" {
		key = domain.EmailLeadKey(email)
	}
	return domain.Parsed{Type: domain.LeadCaptured, LeadKey: key, OccurredAt: timestamp, Data: d}, nil
}
