package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/config"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func writeFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := config.Load("../../leadledger.example.yaml", env(nil))
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	if len(cfg.Sources) != 4 || cfg.Database != "sqlite:./data/ledger.db" || cfg.MaxBodyBytes != 1<<20 {
		t.Fatalf("example config = %v", cfg)
	}
	sensei, ok := cfg.Source("sensei")
	if !ok || string(sensei.Auth.SigningKeys[0]) != "demo-sensei-signing-key-32bytes!" {
		t.Fatalf("sensei signing key not decoded: %+v", sensei.Auth.SigningKeys)
	}
	conv, _ := cfg.Source("conversica")
	if conv.Auth.Type != config.AuthBasic || conv.Auth.Username != "conversica" || conv.Auth.Secrets[0] != "demo-conversica-pass" {
		t.Fatalf("conversica auth = %+v", conv.Auth)
	}
}

const contractYAML = `
listen: 127.0.0.1:9000
database: sqlite:./x.db
tokens:
  - {name: ops, role: operator, token_env: OPS}
sources:
  - id: leadflo
    vendor: leadflo
    auth: {type: header_secret, header: X-Webhook-Secret, secret_env: LEADFLO_SECRET}
  - id: sensei
    vendor: sensei
    auth: {type: standard_webhooks, secrets_env: [SENSEI_NEW, SENSEI_OLD]}
`

func TestSecretsFromEnvironment(t *testing.T) {
	vars := map[string]string{"OPS": "ops-token", "LEADFLO_SECRET": "lf-secret",
		"SENSEI_NEW": "whsec_bmV3LWtleQ==", "SENSEI_OLD": "whsec_b2xkLWtleQ=="}
	cfg, err := config.Load(writeFile(t, contractYAML), env(vars))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	sensei, _ := cfg.Source("sensei")
	if len(sensei.Auth.SigningKeys) != 2 || string(sensei.Auth.SigningKeys[0]) != "new-key" || string(sensei.Auth.SigningKeys[1]) != "old-key" {
		t.Fatalf("rotation keys = %q, want new-key then old-key", sensei.Auth.SigningKeys)
	}
	if cfg.Tokens[0].Secrets[0] != "ops-token" || cfg.Tokens[0].Role != config.RoleOperator {
		t.Fatalf("token = %+v", cfg.Tokens[0])
	}
	for _, secret := range []string{"ops-token", "lf-secret", "whsec_bmV3LWtleQ==", "new-key"} {
		if strings.Contains(cfg.String(), secret) || strings.Contains(fmt.Sprint(cfg), secret) {
			t.Errorf("printing the config shows the secret %q", secret)
		}
	}
}

func TestMissingSecretVariableIsNamed(t *testing.T) {
	vars := map[string]string{"OPS": "ops-token", "SENSEI_NEW": "whsec_bmV3LWtleQ==", "SENSEI_OLD": "whsec_b2xkLWtleQ=="}
	_, err := config.Load(writeFile(t, contractYAML), env(vars))
	if err == nil || !strings.Contains(err.Error(), "LEADFLO_SECRET") || !strings.Contains(err.Error(), `"leadflo"`) {
		t.Fatalf("err = %v, want one naming LEADFLO_SECRET and the source", err)
	}
	if strings.Contains(err.Error(), "ops-token") {
		t.Fatalf("error shows a secret: %v", err)
	}
}

func TestEnvironmentOverridesScalars(t *testing.T) {
	vars := map[string]string{"OPS": "o", "LEADFLO_SECRET": "s", "SENSEI_NEW": "whsec_bmV3LWtleQ==", "SENSEI_OLD": "whsec_b2xkLWtleQ==",
		"LEDGER_LISTEN": "0.0.0.0:1", "LEDGER_DATABASE": "postgres://u:p@h/db", "LEDGER_MAX_BODY_BYTES": "42", "LEDGER_LOG_LEVEL": "debug", "LEDGER_RUN_PROJECTIONS": "false"}
	cfg, err := config.Load(writeFile(t, contractYAML), env(vars))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.Listen != "0.0.0.0:1" || cfg.Database != "postgres://u:p@h/db" || cfg.MaxBodyBytes != 42 || cfg.LogLevel != "debug" || cfg.RunProjections {
		t.Fatalf("overrides not applied: %v", cfg)
	}
	if strings.Contains(cfg.String(), ":p@") {
		t.Fatalf("database password printed: %s", cfg)
	}
	vars["LEDGER_MAX_BODY_BYTES"] = "lots"
	if _, err := config.Load(writeFile(t, contractYAML), env(vars)); err == nil || !strings.Contains(err.Error(), "LEDGER_MAX_BODY_BYTES") {
		t.Fatalf("bad LEDGER_MAX_BODY_BYTES: err = %v", err)
	}
}

func TestNoFileGivesDefaults(t *testing.T) {
	cfg, err := config.Load("", env(nil))
	if err != nil || cfg.Listen != "127.0.0.1:8080" || cfg.Database != "sqlite:./data/ledger.db" || !cfg.RunProjections {
		t.Fatalf("defaults = %v, %v", cfg, err)
	}
}

func TestInvalidConfigs(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "listne: x\n", "listne"},
		{"unknown vendor", "sources: [{id: a, vendor: acme, auth: {type: url_token, token: t}}]", "vendor must be"},
		{"bad source id", "sources: [{id: 'A B', vendor: sensei, auth: {type: url_token, token: t}}]", "source ids"},
		{"duplicate source", "sources: [{id: a, vendor: sensei, auth: {type: url_token, token: t}}, {id: a, vendor: sensei, auth: {type: url_token, token: t}}]", "unique"},
		{"unknown auth", "sources: [{id: a, vendor: sensei, auth: {type: magic}}]", "auth type"},
		{"basic without user", "sources: [{id: a, vendor: conversica, auth: {type: basic, password: p}}]", "username"},
		{"header without name", "sources: [{id: a, vendor: leadflo, auth: {type: header_secret, secret: s}}]", "header"},
		{"url token without token", "sources: [{id: a, vendor: whatconverts, auth: {type: url_token}}]", "needs a token"},
		{"webhook secret without prefix", "sources: [{id: a, vendor: sensei, auth: {type: standard_webhooks, secret: abc}}]", "whsec_"},
		{"webhook secret not base64", "sources: [{id: a, vendor: sensei, auth: {type: standard_webhooks, secret: whsec_!!}}]", "base64"},
		{"bad role", "tokens: [{name: x, role: admin, token: t}]", "role"},
		{"token without value", "tokens: [{name: x, role: auditor}]", "no token"},
		{"two tokens, one secret", "tokens: [{name: a, role: auditor, token: same-secret-value}, {name: o, role: operator, tokens: [other, same-secret-value]}]",
			`tokens "a" and "o" share a secret`},
		{"bad database", "database: mysql://x", "database"},
		{"bad body limit", "max_body_bytes: -1", "max_body_bytes"},
		{"tls without its key", "tls: {cert_file: cert.pem}", "give both cert_file and key_file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, c.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}
