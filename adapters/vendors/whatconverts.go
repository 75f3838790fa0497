package vendors

import (
	"encoding/json"
	"strings"

	"github.com/leadledger/leadledger/domain"
)

// ParseWhatConverts parses a WhatConverts lead webhook, trigger "new" or "update", of any lead
// type (Chat, Phone Call, Web Form, Transaction, ...). WhatConverts re-sends the same lead as it
// changes; the projection, not the parser, decides whether a re-send changes anything.
func ParseWhatConverts(raw []byte) (domain.Parsed, error) {
	o, err := decodeBody(raw)
	if err != nil {
		return domain.Parsed{}, err
	}
	trigger, err := o.requiredStr("trigger")
	if err != nil {
		return domain.Parsed{}, err
	}
	types := map[string]domain.EventType{"new": domain.LeadCaptured, "update": domain.LeadUpdated}
	eventType, ok := types[trigger]
	if !ok {
		return domain.Parsed{}, domain.InvalidField("trigger", `must be "new" or "update"`)
	}
	leadID, err := whatConvertsLeadID(o)
	if err != nil {
		return domain.Parsed{}, err
	}
	d, err := whatConvertsData(o)
	if err != nil {
		return domain.Parsed{}, err
	}
	d.ExternalID = leadID
	occurred := d.VendorUpdatedAt
	if occurred == "" {
		occurred = d.VendorCreatedAt
	}
	return domain.Parsed{Type: eventType, LeadKey: leadID, OccurredAt: occurred, Data: d}, nil
}

// whatConvertsLeadID returns lead_id's exact digits: a JSON integer, or a string of digits.
// Going through float64 would round ids above 2^53.
func whatConvertsLeadID(o *object) (string, error) {
	v := o.raw("lead_id")
	if v == nil {
		return "", domain.MissingField("lead_id")
	}
	digits := string(v)
	var s string
	if json.Unmarshal(v, &s) == nil {
		digits = strings.TrimSpace(s)
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", domain.InvalidField("lead_id", "must be an integer")
	}
	return digits, nil
}

func whatConvertsData(o *object) (domain.LeadData, error) {
	var d domain.LeadData
	var errs []error
	str := func(key string) string {
		s, err := o.str(key)
		errs = append(errs, err)
		return s
	}
	timeStr := func(key string) string {
		s, err := o.timeStr(key)
		errs = append(errs, err)
		return s
	}
	additional, err := o.object("additional_fields")
	errs = append(errs, err)
	extra := func(key string) string {
		if additional == nil {
			return ""
		}
		s, err := additional.str(key)
		errs = append(errs, err)
		return s
	}
	d.Name = firstOf(str("contact_name"), extra("full_name"), str("caller_name"))
	email := firstOf(str("contact_email_address"), str("email_address"), extra("email_address"))
	d.Phone = firstOf(str("contact_phone_number"), str("phone_number"), str("caller_number"), extra("phone_number"))
	d.Company = firstOf(str("contact_company_name"), extra("company_name"))
	d.Status = str("lead_state")
	d.Message = extra("message")
	d.VendorCreatedAt = timeStr("date_created")
	d.VendorUpdatedAt = timeStr("last_updated")
	d.Score, err = o.number("lead_score")
	errs = append(errs, err)
	d.Spam, err = o.boolean("spam")
	errs = append(errs, err)
	d.Duplicate, err = o.boolean("duplicate")
	errs = append(errs, err)
	_, err = o.object("field_mappings")
	errs = append(errs, err)
	if err := firstErr(errs...); err != nil {
		return domain.LeadData{}, err
	}
	if email != "" {
		d.SetEmail(email)
	}
	d.Attribution = map[string]string{}
	for name, key := range map[string]string{"source": "lead_source", "medium": "lead_medium",
		"campaign": "lead_campaign", "content": "lead_content", "keyword": "lead_keyword",
		"landing_url": "landing_url", "lead_url": "lead_url", "gclid": "gclid", "msclkid": "msclkid"} {
		if v, err := o.str(key); err == nil && v != "" {
			d.Attribution[name] = v
		} else {
			o.used[key] = false // a non-string value stays in Extra, as sent
		}
	}
	if len(d.Attribution) == 0 {
		d.Attribution = nil
	}
	custom := map[string]json.RawMessage{}
	o.keep(custom, "lead_type", "lead_status", "lead_analysis", "quotable", "quote_value", "sales_value",
		"additional_fields", "field_mappings", "call_status", "tracking_number", "caller_number", "caller_name", "line_type")
	d.CustomFields = nonEmpty(custom)
	o.used["trigger"], o.used["lead_id"] = true, true
	d.Extra = o.unused()
	return d, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
