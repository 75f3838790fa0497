package domain

import (
	"strings"

	"github.com/google/uuid"
)

// leadNamespace is the UUIDv5 namespace of lead ids. Changing it changes every lead id: never do.
var leadNamespace = uuid.MustParse("6f1c8f3e-2b7a-4c1e-9a55-3d0b8e7f4a21")

// LeadID is the deterministic id of a source's lead: a UUIDv5 of "source:key", so a rebuild or a
// second server computes the same id for the same lead.
func LeadID(source, leadKey string) uuid.UUID {
	return uuid.NewSHA1(leadNamespace, []byte(source+":"+leadKey))
}

// NormalizeEmail is the form in which emails are matched: trimmed and lower-cased.
// The original is always kept beside it.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// EmailLeadKey is the lead key of a vendor that sends no lead id of its own.
func EmailLeadKey(email string) string {
	return "email:" + NormalizeEmail(email)
}
