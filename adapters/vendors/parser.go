// Package vendors turns each vendor's webhook body into a parsed domain event. One file per
// vendor; every parser is a pure function of the raw bytes: no I/O, no clock, never a panic.
package vendors

import "github.com/leadledger/leadledger/domain"

// Parser turns one webhook body into a parsed event. Every refusal is a
// *domain.InvalidPayloadError whose message names the field or the problem.
type Parser func(raw []byte) (domain.Parsed, error)

var parsers = map[string]Parser{
	"conversica":   ParseConversica,
	"whatconverts": ParseWhatConverts,
	"leadflo":      ParseLeadFlo,
	"sensei":       ParseSensei,
}

// ForVendor returns the parser of a vendor: conversica, whatconverts, leadflo or sensei.
func ForVendor(vendor string) (Parser, bool) {
	p, ok := parsers[vendor]
	return p, ok
}
