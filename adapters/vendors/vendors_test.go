package vendors_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/leadledger/leadledger/adapters/vendors"
	"github.com/leadledger/leadledger/domain"
)

func example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, vendor, file string) domain.Parsed {
	t.Helper()
	p, _ := vendors.ForVendor(vendor)
	got, err := p(example(t, file))
	if err != nil {
		t.Fatalf("%s %s: %v", vendor, file, err)
	}
	return got
}

func TestDocumentedExamples(t *testing.T) {
	conv := parse(t, "conversica", "conversica-lead.json")
	if conv.Type != domain.LeadCaptured || conv.LeadKey != "email:john.doe@example.com" || conv.Data.Name != "John Doe" ||
		conv.Data.FirstName != "John" || conv.Data.Email != "john.doe@example.com" || conv.OccurredAt != "" {
		t.Errorf("conversica = %+v", conv)
	}
	if tr := conv.Data.Conversation.Transcript; len(tr) < 20 || tr[:19] != "2025-05-23T11:40:07" {
		t.Errorf("conversica transcript not kept as sent (zone-less times included): %q", tr)
	}

	wc := parse(t, "whatconverts", "whatconverts-chat-new.json")
	d := wc.Data
	if wc.Type != domain.LeadCaptured || wc.LeadKey != "153928" || d.ExternalID != "153928" || wc.OccurredAt != "2016-01-25T17:18:20Z" {
		t.Errorf("whatconverts header = %+v", wc)
	}
	if d.Name != "Jeremy Helms" || d.EmailNormalized != "hello@whatconverts.com" || d.Phone != "+17044695324" ||
		d.Company != "Call Tracking Company" || d.Status != "In Progess" || d.Score != "50" {
		t.Errorf("whatconverts contact = %+v", d)
	}
	if d.Spam == nil || *d.Spam || d.Duplicate == nil || *d.Duplicate {
		t.Errorf("whatconverts spam/duplicate flags = %v/%v, want false/false", d.Spam, d.Duplicate)
	}
	if d.Attribution["source"] != "google" || d.Attribution["medium"] != "cpc" || d.Attribution["gclid"] == "" {
		t.Errorf("whatconverts attribution = %v", d.Attribution)
	}
	if string(d.CustomFields["lead_type"]) != `"Chat"` || string(d.CustomFields["quote_value"]) != "null" {
		t.Errorf("whatconverts custom fields = %s / %s", d.CustomFields["lead_type"], d.CustomFields["quote_value"])
	}
	if string(d.Extra["vwo_user_id"]) != `"D4A14C3EFD6DB2A51749E1A931BE96B44"` || string(d.Extra["profile_id"]) != "51497" {
		t.Errorf("unknown fields not kept as sent: %v", d.Extra)
	}

	visitor := parse(t, "leadflo", "leadflo-visitor-created.json")
	if visitor.Type != domain.LeadCaptured || visitor.LeadKey != "vis_xyz" || visitor.Data.Phone != "+1 555 123 4567" ||
		visitor.Data.Name != "Sarah Johnson" || visitor.Data.Score != "88" || visitor.OccurredAt != "2025-03-01T14:22:00.000Z" ||
		string(visitor.Data.CustomFields["intent"]) != `"Buy"` || visitor.Data.Attribution["referrer"] != "https://zillow.com" {
		t.Errorf("leadflo visitor = %+v", visitor)
	}
	ended := parse(t, "leadflo", "leadflo-conversation-ended.json")
	c := ended.Data.Conversation
	if ended.Type != domain.ConversationEnded || ended.LeadKey != "vis_xyz" || c.ID != "conv_789" ||
		c.MessageCount != "12" || c.DurationSeconds != "487" || c.LeadCaptured == nil || !*c.LeadCaptured {
		t.Errorf("leadflo conversation_ended = %+v %+v", ended, c)
	}

	sensei := parse(t, "sensei", "sensei-lead-created.json")
	if sensei.LeadKey != "lead-uuid-here" || sensei.Data.Email != "john@example.com" || sensei.Data.Message == "" ||
		string(sensei.Data.CustomFields["clientName"]) != `"Acme Corp"` || sensei.OccurredAt != "2024-11-24T10:30:00.000Z" {
		t.Errorf("sensei envelope = %+v", sensei)
	}
	flat := parse(t, "sensei", "sensei-flat.json")
	if flat.LeadKey != "email:jane.roe@example.com" || flat.Data.Email != "Jane.Roe@Example.com" || flat.Data.Phone != "" {
		t.Errorf("sensei flat = %+v", flat)
	}
}

func TestWhatConvertsLeadTypes(t *testing.T) {
	call := parse(t, "whatconverts", "whatconverts-phone-call-update.json")
	if call.Type != domain.LeadUpdated || call.LeadKey != "153931" || call.Data.Phone != "+17045550199" ||
		call.Data.Name != "HELMS JEREMY" || call.Data.Duplicate == nil || !*call.Data.Duplicate ||
		string(call.Data.CustomFields["call_status"]) != `"Answered"` || string(call.Data.CustomFields["quote_value"]) != "1500.50" {
		t.Errorf("phone call update = %+v", call)
	}
	form := parse(t, "whatconverts", "whatconverts-web-form-new.json")
	if form.LeadKey != "153940" || form.Data.Name != "Ana Silva" || form.Data.Email != "  ANA@Example.org " ||
		form.Data.EmailNormalized != "ana@example.org" || form.Data.Company != "Silva Ltd" || form.Data.Spam == nil || !*form.Data.Spam {
		t.Errorf("web form = %+v", form)
	}
	big := parse(t, "whatconverts", "whatconverts-transaction-bigid.json")
	if big.LeadKey != "9007199254740993" || big.OccurredAt != "2023-07-01T08:00:00" ||
		string(big.Data.CustomFields["sales_value"]) != "12345678901234567890" ||
		string(big.Data.Extra["some_future_field"]) != `{"nested": [1, 2, 3]}` {
		t.Errorf("transaction: 2^53+1 and big values must stay exact, zone-less time as sent: %+v", big)
	}
	if domain.LeadID("wc", big.LeadKey) == domain.LeadID("wc", "9007199254740992") {
		t.Errorf("lead ids of 2^53 and 2^53+1 collide")
	}
}

func TestRejections(t *testing.T) {
	for _, c := range []struct{ vendor, body, want string }{
		{"conversica", `{"firstName":"J","lastName":"D","conversationHistory":"x"}`, "Missing required field: email"},
		{"conversica", `{"firstName":"J","lastName":"D","email":"","conversationHistory":"x"}`, "Missing required field: email"},
		{"conversica", `{"lastName":"D","email":"a@b.c","conversationHistory":"x"}`, "Missing required field: firstName"},
		{"conversica", `{"firstName":"J","lastName":"D","email":"a@b.c"}`, "Missing required field: conversationHistory"},
		{"conversica", `{"firstName":1,"lastName":"D","email":"a@b.c","conversationHistory":"x"}`, "Invalid field firstName: must be a string"},
		{"conversica", `{"firstName":"J","lastName":"D","email":"not an email","conversationHistory":"x"}`, "Invalid field email: must be an email address"},
		{"conversica", `[1,2]`, "Body must be a JSON object"},
		{"conversica", `null`, "Body must be a JSON object"},
		{"conversica", `{"firstName":`, "Invalid JSON: unexpected EOF"},
		{"conversica", `{"a":1} {"b":2}`, "Invalid JSON: unexpected data after the object"},
		{"whatconverts", `{"lead_id":1}`, "Missing required field: trigger"},
		{"whatconverts", `{"trigger":"deleted","lead_id":1}`, `Invalid field trigger: must be "new" or "update"`},
		{"whatconverts", `{"trigger":"new"}`, "Missing required field: lead_id"},
		{"whatconverts", `{"trigger":"new","lead_id":true}`, "Invalid field lead_id: must be an integer"},
		{"whatconverts", `{"trigger":"new","lead_id":1.5}`, "Invalid field lead_id: must be an integer"},
		{"whatconverts", `{"trigger":"new","lead_id":1,"spam":"yes"}`, "Invalid field spam: must be true or false"},
		{"whatconverts", `{"trigger":"new","lead_id":1,"additional_fields":"x"}`, "Invalid field additional_fields: must be an object"},
		{"whatconverts", `{"trigger":"new","lead_id":1,"lead_score":"high"}`, "Invalid field lead_score: must be a number"},
		{"leadflo", `{"data":{}}`, "Missing required field: event"},
		{"leadflo", `{"event":"visitor_left","data":{}}`, `Invalid field event: must be "visitor_created" or "conversation_ended"`},
		{"leadflo", `{"event":"visitor_created"}`, "Missing required field: data"},
		{"leadflo", `{"event":"visitor_created","data":{}}`, "Missing required field: data.visitor"},
		{"leadflo", `{"event":"visitor_created","data":{"visitor":{"name":"x"}}}`, "Missing required field: data.visitor.id"},
		{"leadflo", `{"event":"visitor_created","data":{"visitor":{"id":"v","qualityScore":"high"}}}`, "Invalid field data.visitor.qualityScore: must be a number"},
		{"leadflo", `{"event":"conversation_ended","data":{"conversationId":"c"}}`, "Missing required field: data.visitorId"},
		{"sensei", `{"event":"lead.created","data":{"name":"x"}}`, "Missing required field: data.email"},
		{"sensei", `{"event":"lead.updated","data":{"email":"a@b.c"}}`, `Invalid field event: must be "lead.created"`},
		{"sensei", `{"event":"lead.created"}`, "Missing required field: data"},
		{"sensei", `{"name":"flat without email"}`, "Missing required field: email"},
		// A NUL in a time: no time holds one, and PostgreSQL's text cannot store it.
		{"leadflo", `{"event":"visitor_created","timestamp":"2026-01-01T10:00:00Z\u0000","data":{"visitor":{"id":"v"}}}`, "Invalid field timestamp: a time must not contain a NUL character"},
		{"sensei", `{"event":"lead.created","timestamp":"\u0000","data":{"email":"a@b.c"}}`, "Invalid field timestamp: a time must not contain a NUL character"},
		{"sensei", `{"email":"a@b.c","timestamp":"2026\u0000"}`, "Invalid field timestamp: a time must not contain a NUL character"},
		{"whatconverts", `{"trigger":"new","lead_id":1,"date_created":"2026-01-01\u0000"}`, "Invalid field date_created: a time must not contain a NUL character"},
		{"whatconverts", `{"trigger":"update","lead_id":1,"last_updated":"\u00002026-01-01"}`, "Invalid field last_updated: a time must not contain a NUL character"},
	} {
		p, _ := vendors.ForVendor(c.vendor)
		_, err := p([]byte(c.body))
		var invalid *domain.InvalidPayloadError
		if !errors.As(err, &invalid) || err.Error() != c.want {
			t.Errorf("%s %s: err = %v, want %q", c.vendor, c.body, err, c.want)
		}
	}
}

func TestUnknownVendor(t *testing.T) {
	if _, ok := vendors.ForVendor("acme"); ok {
		t.Fatal("ForVendor(acme) found a parser")
	}
}

// Every WhatConverts lead type, with both triggers: the parser keys on the common fields and
// keeps the type's own fields as sent.
func TestWhatConvertsEveryLeadTypeAndTrigger(t *testing.T) {
	typeField := map[string]string{
		"Chat": "chat_transcript", "Phone Call": "call_duration", "Web Form": "form_name", "Transaction": "transaction_id",
		"Email": "email_subject", "Text Message": "text_body", "Event": "event_name", "Appointment": "appointment_date", "Other": "other_note",
	}
	for leadType, field := range typeField {
		for trigger, want := range map[string]domain.EventType{"new": domain.LeadCaptured, "update": domain.LeadUpdated} {
			body := fmt.Sprintf(`{"trigger":%q,"lead_id":4242,"lead_type":%q,"contact_name":"Kim Lee",`+
				`"contact_email_address":"Kim@Example.com","contact_phone_number":"+15550100","last_updated":"2026-02-01T10:00:00Z",%q:"x"}`,
				trigger, leadType, field)
			p, err := parseWhatConverts([]byte(body))
			if err != nil {
				t.Errorf("%s %s: %v", leadType, trigger, err)
				continue
			}
			if p.Type != want || p.LeadKey != "4242" || p.Data.Name != "Kim Lee" || p.Data.EmailNormalized != "kim@example.com" ||
				p.Data.Phone != "+15550100" || string(p.Data.CustomFields["lead_type"]) != strconv.Quote(leadType) ||
				string(p.Data.Extra[field]) != `"x"` || p.OccurredAt != "2026-02-01T10:00:00Z" {
				t.Errorf("%s %s parsed as %+v", leadType, trigger, p)
			}
		}
	}
}

func parseWhatConverts(body []byte) (domain.Parsed, error) {
	p, _ := vendors.ForVendor("whatconverts")
	return p(body)
}
