package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/config"
)

// Whatever a configuration file holds, Load never panics: it returns a configuration that
// validates, or an error with a message; and no error quotes a secret the environment gave.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../../leadledger.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("tokens: [{name: a, role: auditor, token_env: FUZZ_SECRET}, {name: b, role: operator, token: x}]\n"))
	f.Add([]byte("sources: [{id: s, vendor: sensei, auth: {type: standard_webhooks, secret_env: FUZZ_SECRET}}]\ndatabase_wait: 60\n"))
	f.Add([]byte("database: 'postgres://u:p%zz@h/db'\nmax_body_bytes: -1\nlisten: ''\n"))
	const secret = "fuzz-secret-from-the-environment"
	getenv := func(name string) string {
		if name == "FUZZ_SECRET" {
			return secret
		}
		return ""
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml []byte) {
		path := filepath.Join(dir, "ledger.yaml")
		if err := os.WriteFile(path, yaml, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, getenv)
		if err != nil {
			if err.Error() == "" || strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q: empty, or quoting a secret", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted a configuration that does not validate: %v", err)
		}
	})
}
