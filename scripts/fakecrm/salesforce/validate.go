package salesforce

import (
	"strings"
)

// validate runs the checks a real org runs when a Lead is saved: required fields, the Email
// format, the uniqueness of the other external id fields, and (on create) the duplicate rule.
// id is empty for a new Lead. The caller holds s.mu.
func (s *Server) validate(id, field string, fields map[string]string, allowSave bool) []recordError {
	var errs []recordError
	var missing []string
	for _, f := range []string{"LastName", "Company"} {
		if fields[f] == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, recordError{StatusCode: "REQUIRED_FIELD_MISSING",
			Message: "Required fields are missing: [" + strings.Join(missing, ", ") + "]", Fields: missing})
	}
	if email := fields["Email"]; email != "" && !validEmail(email) {
		errs = append(errs, recordError{StatusCode: "INVALID_EMAIL_ADDRESS",
			Message: "Email: invalid email address: " + email, Fields: []string{"Email"}})
	}
	for _, f := range s.cfg.ExternalIDFields {
		v := fields[f]
		if f == field || v == "" {
			continue
		}
		for _, other := range s.store.find(f, v) {
			if other != id {
				errs = append(errs, recordError{StatusCode: "DUPLICATE_VALUE",
					Message: "duplicate value found: " + f + " duplicates value on record with id: " + other, Fields: []string{f}})
				break
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if id == "" && s.cfg.DuplicateRule && !allowSave && fields["Email"] != "" {
		if dups := s.store.find("Email", fields["Email"]); len(dups) > 0 {
			return []recordError{duplicatesDetected(dups)}
		}
	}
	return nil
}

// duplicatesDetected is the error an alerting duplicate rule gives, with the matches listed.
// allowSave is true in duplicateResult because the rule alerts rather than blocks: the header
// Sforce-Duplicate-Rule-Header: allowSave=true saves the Lead anyway.
func duplicatesDetected(ids []string) recordError {
	const msg = "Use one of these records?"
	match := matchResult{EntityType: "Lead", Rule: "Standard_Lead_Match_Rule_v1_0", Size: len(ids), Success: true}
	for _, id := range ids {
		match.MatchRecords = append(match.MatchRecords, matchRecord{MatchConfidence: 100,
			Record: map[string]any{"attributes": map[string]string{"type": "Lead"}, "Id": id}})
	}
	return recordError{StatusCode: "DUPLICATES_DETECTED", Message: msg, Fields: []string{},
		DuplicateResult: &duplicateResult{AllowSave: true, DuplicateRule: "Standard_Rule_for_Leads_with_Duplicate_Leads",
			DuplicateRuleEntityType: "Lead", ErrorMessage: msg, MatchResults: []matchResult{match}}}
}

// validEmail is a rough version of Salesforce's check: one @, a local part, and a domain with
// a dot and no empty label or space.
func validEmail(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || strings.ContainsAny(email, " \t\r\n<>(),;:\\\"[]") || strings.Contains(domain, "@") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
	}
	return true
}
