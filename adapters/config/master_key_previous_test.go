package config_test

import (
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/config"
)

func TestMasterKeyPrevious(t *testing.T) {
	const (
		keyA = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
		keyB = "3031323334353637383961626364656630313233343536373839616263646566"
	)
	vars := map[string]string{"NEW_KEY": keyA, "OLD_KEY": keyB, "OLDER_KEY": keyA}
	cfg, err := config.Load(writeFile(t, "master_key_env: NEW_KEY\nmaster_key_previous_env: [OLD_KEY, OLDER_KEY]\n"), env(vars))
	if err != nil || len(cfg.MasterKeyPrevious) != 2 || len(cfg.MasterKeyPrevious[0]) != 32 {
		t.Fatalf("previous keys: %d, %v; want 2", len(cfg.MasterKeyPrevious), err)
	}
	if s := cfg.String(); strings.Contains(s, keyA) || strings.Contains(s, keyB) {
		t.Errorf("the config line shows a key: %s", s)
	}
	vars["LEDGER_MASTER_KEY_PREVIOUS_ENV"] = " OLD_KEY "
	if cfg, err := config.Load(writeFile(t, "master_key_previous_env: [OLD_KEY, OLDER_KEY]\n"), env(vars)); err != nil || len(cfg.MasterKeyPrevious) != 1 {
		t.Errorf("LEDGER_MASTER_KEY_PREVIOUS_ENV: %d keys, %v; want the variable's one", len(cfg.MasterKeyPrevious), err)
	}
	delete(vars, "LEDGER_MASTER_KEY_PREVIOUS_ENV")
	if cfg, err := config.Load(writeFile(t, "master_key_env: NEW_KEY\n"), env(vars)); err != nil || cfg.MasterKeyPrevious != nil {
		t.Errorf("no previous keys: %v, %v", cfg.MasterKeyPrevious, err)
	}

	vars["SHORT_KEY"] = keyB[:62]
	_, err = config.Load(writeFile(t, "master_key_previous_env: [MISSING_KEY, SHORT_KEY]\n"), env(vars))
	if err == nil {
		t.Fatal("bad previous keys were accepted")
	}
	for _, want := range []string{"master_key_previous_env: the environment variable MISSING_KEY is unset or empty", "master_key_previous_env: SHORT_KEY: invalid master key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), keyB[:62]) {
		t.Errorf("error %q quotes the key", err)
	}
}
