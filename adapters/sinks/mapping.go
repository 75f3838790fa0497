package sinks

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadledger/leadledger/domain"
)

// Mapping maps lead-view fields (dotted paths into attribution and custom_fields) to a CRM's
// field names.
type Mapping map[string]string

// The lead fields a mapping may name, besides attribution.<key> and custom_fields.<key>.
// sources and lead_ids describe the record: the sources and leads merged into it.
var leadFields = []string{"id", "source", "vendor", "external_id", "first_name", "last_name", "name",
	"email", "phone", "company", "status", "score", "spam", "duplicate", "created_at", "updated_at",
	"sources", "lead_ids"}

// defaultMappings are each CRM's mapping when a sink gives none. Only standard CRM fields, and
// the ledger's own properties, which a CRM needs created once (see the README): a field the
// CRM does not know fails every record.
var defaultMappings = map[string]Mapping{
	TypeHubSpot: {"email": "email", "first_name": "firstname", "last_name": "lastname", "phone": "phone",
		"company": "company", "sources": "ledger_sources", "lead_ids": "ledger_lead_ids"},
	TypeSalesforce: {"email": "Email", "first_name": "FirstName", "last_name": "LastName", "phone": "Phone",
		"company": "Company"},
	TypePipedrive: {"name": "name", "email": "email", "phone": "phone"},
}

func (m Mapping) validate() error {
	for from, to := range m {
		if !knownLeadField(from) {
			return invalid("Invalid mapping: unknown lead field %q (known: %s, attribution.<key>, custom_fields.<key>)",
				from, strings.Join(leadFields, ", "))
		}
		if strings.TrimSpace(to) == "" {
			return invalid("Invalid mapping: lead field %q maps to an empty CRM field", from)
		}
	}
	return nil
}

func knownLeadField(path string) bool {
	if rest, ok := strings.CutPrefix(path, "attribution."); ok {
		return rest != ""
	}
	if rest, ok := strings.CutPrefix(path, "custom_fields."); ok {
		return rest != ""
	}
	return slices.Contains(leadFields, path)
}

// leadValue is one field of a lead as text, "" when the lead has none.
func leadValue(l domain.Lead, path string) string {
	if key, ok := strings.CutPrefix(path, "attribution."); ok {
		return l.Attribution[key]
	}
	if key, ok := strings.CutPrefix(path, "custom_fields."); ok {
		raw := l.CustomFields[key]
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if len(raw) == 0 || string(raw) == "null" {
			return ""
		}
		return string(raw) // a number, a bool, an object: as JSON
	}
	switch path {
	case "id", "lead_ids":
		return l.ID.String()
	case "source", "sources":
		return l.Source
	case "vendor":
		return l.Vendor
	case "external_id":
		return l.ExternalID
	case "first_name": // vendors that send one name (LeadFloAgent, WhatConverts) still give a first
		if l.FirstName == "" && l.LastName == "" {
			first, _, _ := strings.Cut(strings.TrimSpace(l.Name), " ")
			return first
		}
		return l.FirstName
	case "last_name": // and a last name: the rest of the name
		if l.FirstName == "" && l.LastName == "" {
			_, last, _ := strings.Cut(strings.TrimSpace(l.Name), " ")
			return strings.TrimSpace(last)
		}
		return l.LastName
	case "name":
		return l.Name
	case "email": // as the vendor spelled it, without the spaces some send around it
		return strings.TrimSpace(l.Email)
	case "phone":
		return l.Phone
	case "company":
		return l.Company
	case "status":
		return l.Status
	case "score":
		return string(l.Score)
	case "spam":
		return strconv.FormatBool(l.Spam)
	case "duplicate":
		return strconv.FormatBool(l.Duplicate)
	case "created_at":
		return formatLeadTime(l.CreatedAt)
	case "updated_at":
		return formatLeadTime(l.UpdatedAt)
	}
	return ""
}

func formatLeadTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// sortedKeys of a mapping, so records are built the same way every time.
func (m Mapping) sortedKeys() []string { return slices.Sorted(maps.Keys(m)) }
