package vendors

import (
	"encoding/json"

	"github.com/leadledger/leadledger/domain"
)

// ParseLeadFlo parses a LeadFloAgent webhook: visitor_created (a lead) or conversation_ended
// (attached to the visitor's lead). LeadFloAgent never retries, so nothing optional is refused
// for its shape alone.
func ParseLeadFlo(raw []byte) (domain.Parsed, error) {
	o, err := decodeBody(raw)
	if err != nil {
		return domain.Parsed{}, err
	}
	event, err := o.requiredStr("event")
	if err != nil {
		return domain.Parsed{}, err
	}
	if event != "visitor_created" && event != "conversation_ended" {
		return domain.Parsed{}, domain.InvalidField("event", `must be "visitor_created" or "conversation_ended"`)
	}
	timestamp, errTime := o.timeStr("timestamp")
	website, errSite := o.str("websiteId")
	data, errData := o.requiredObject("data")
	if err := firstErr(errTime, errSite, errData); err != nil {
		return domain.Parsed{}, err
	}
	var p domain.Parsed
	if event == "visitor_created" {
		p, err = leadFloVisitor(data)
	} else {
		p, err = leadFloConversationEnded(data, timestamp)
	}
	if err != nil {
		return domain.Parsed{}, err
	}
	p.OccurredAt = timestamp
	if website != "" {
		if p.Data.CustomFields == nil {
			p.Data.CustomFields = map[string]json.RawMessage{}
		}
		o.keep(p.Data.CustomFields, "websiteId")
	}
	p.Data.Extra = o.unused()
	return p, nil
}

func leadFloVisitor(data *object) (domain.Parsed, error) {
	v, err := data.requiredObject("visitor")
	if err != nil {
		return domain.Parsed{}, err
	}
	id, errID := v.requiredStr("id")
	name, errName := v.str("name")
	email, errEmail := v.emailField("email", false)
	phone, errPhone := v.str("phone")
	referrer, errRef := v.str("referrer")
	score, errScore := v.number("qualityScore")
	_, errUrgency := v.number("urgencyScore")
	fields, errFields := v.object("customFields")
	if err := firstErr(errID, errName, errEmail, errPhone, errRef, errScore, errUrgency, errFields); err != nil {
		return domain.Parsed{}, err
	}
	d := domain.LeadData{ExternalID: id, Name: name, Phone: phone, Score: score}
	if email != "" {
		d.SetEmail(email)
	}
	if referrer != "" {
		d.Attribution = map[string]string{"referrer": referrer}
	}
	// Everything else the widget knows about the visitor is kept, as sent.
	custom := map[string]json.RawMessage{}
	v.keep(custom, "country", "city", "firstSeenAt", "urgencyScore")
	if fields != nil {
		for k, raw := range fields.fields {
			custom[k] = raw
		}
	}
	for k, raw := range v.unused() {
		custom[k] = raw
	}
	d.CustomFields = nonEmpty(custom)
	return domain.Parsed{Type: domain.LeadCaptured, LeadKey: id, Data: d}, nil
}

func leadFloConversationEnded(data *object, timestamp string) (domain.Parsed, error) {
	visitor, errVisitor := data.requiredStr("visitorId")
	conversation, errConv := data.str("conversationId")
	captured, errCaptured := data.boolean("leadCaptured")
	messages, errMessages := data.number("messageCount")
	duration, errDuration := data.number("durationSeconds")
	if err := firstErr(errVisitor, errConv, errCaptured, errMessages, errDuration); err != nil {
		return domain.Parsed{}, err
	}
	d := domain.LeadData{
		ExternalID: visitor,
		Conversation: &domain.Conversation{ID: conversation, LeadCaptured: captured,
			MessageCount: messages, DurationSeconds: duration, EndedAt: timestamp},
		CustomFields: nonEmpty(data.unused()),
	}
	return domain.Parsed{Type: domain.ConversationEnded, LeadKey: visitor, Data: d}, nil
}
