package config_test

import (
	"testing"

	"github.com/leadledger/leadledger/adapters/config"
)

func TestTokenOf(t *testing.T) {
	tokens := []config.Token{
		{Name: "ops", Role: config.RoleOperator, Secrets: []string{"old-ops-secret", "new-ops-secret"}},
		{Name: "audit", Role: config.RoleAuditor, Secrets: []string{"audit-secret"}},
	}
	for _, c := range []struct {
		given, want string
	}{{"old-ops-secret", "ops"}, {"new-ops-secret", "ops"}, {"audit-secret", "audit"}, {"audit-secre", ""}, {"", ""}, {"AUDIT-SECRET", ""}} {
		tok, ok := config.TokenOf(tokens, c.given)
		if ok != (c.want != "") || tok.Name != c.want {
			t.Errorf("TokenOf(%q) = %q, %v; want %q", c.given, tok.Name, ok, c.want)
		}
	}
}
