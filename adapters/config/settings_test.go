package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
)

func TestDatabaseWait(t *testing.T) {
	for _, c := range []struct {
		name, yaml, env string
		want            time.Duration
	}{
		{"default", "", "", 60 * time.Second},
		{"from the file", "database_wait: 90s\n", "", 90 * time.Second},
		{"environment over the file", "database_wait: 90s\n", "2m", 2 * time.Minute},
		{"zero: try once", "database_wait: 0\n", "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Load(writeFile(t, c.yaml), env(map[string]string{"LEDGER_DATABASE_WAIT": c.env}))
			if err != nil || cfg.DatabaseWait != c.want {
				t.Fatalf("database wait = %v, %v; want %v", cfg.DatabaseWait, err, c.want)
			}
			if !strings.Contains(cfg.String(), "database_wait="+c.want.String()) {
				t.Errorf("the config line lacks database_wait: %s", cfg)
			}
		})
	}
	for _, bad := range []struct{ yaml, env, want string }{
		{"database_wait: 60\n", "", `database_wait (LEDGER_DATABASE_WAIT): "60" is not a duration`},
		{"", "soon", `"soon" is not a duration`},
		{"database_wait: -1s\n", "", "database_wait must not be negative"},
	} {
		_, err := config.Load(writeFile(t, bad.yaml), env(map[string]string{"LEDGER_DATABASE_WAIT": bad.env}))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("database_wait %q / env %q: err = %v, want %q", bad.yaml, bad.env, err, bad.want)
		}
	}
}

func TestMetricsSettings(t *testing.T) {
	cfg, err := config.Load("", env(nil))
	if err != nil || cfg.Metrics.Listen != "" || len(cfg.Metrics.Tokens) != 0 {
		t.Fatalf("default metrics = %+v, %v; want the main listener, no token", cfg.Metrics, err)
	}
	cfg, err = config.Load(writeFile(t, "metrics: {listen: \"127.0.0.1:9090\", token_env: METRICS_TOKEN}\n"),
		env(map[string]string{"METRICS_TOKEN": "s3cret-metrics"}))
	if err != nil || cfg.Metrics.Listen != "127.0.0.1:9090" || len(cfg.Metrics.Tokens) != 1 || cfg.Metrics.Tokens[0] != "s3cret-metrics" {
		t.Fatalf("metrics = %+v, %v", cfg.Metrics, err)
	}
	if strings.Contains(cfg.String(), "s3cret-metrics") || !strings.Contains(cfg.String(), "127.0.0.1:9090") {
		t.Errorf("config line: %s", cfg)
	}
	cfg, err = config.Load(writeFile(t, "metrics: {token: inline-token}\n"), env(nil))
	if err != nil || cfg.Metrics.Listen != "" || len(cfg.Metrics.Tokens) != 1 {
		t.Fatalf("inline metrics token: %+v, %v", cfg.Metrics, err)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"metrics: {token_env: METRICS_TOKEN}\n", "metrics: environment variable METRICS_TOKEN is not set"},
		{"metrics: {listen: nine}\n", "metrics: listen must be host:port"},
		{"listen: 127.0.0.1:8080\nmetrics: {listen: \"127.0.0.1:8080\"}\n", "must differ from the main listen"},
		{"metrics: {port: 9090}\n", "port"},
	} {
		if _, err := config.Load(writeFile(t, bad.yaml), env(nil)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

func TestMasterKeySettings(t *testing.T) {
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	cfg, err := config.Load(writeFile(t, "master_key_env: LEDGER_KEY\n"), env(map[string]string{"LEDGER_KEY": key}))
	if err != nil || len(cfg.MasterKey) != 32 {
		t.Fatalf("master key from the environment: %d bytes, %v", len(cfg.MasterKey), err)
	}
	if strings.Contains(cfg.String(), key) {
		t.Errorf("the config line shows the master key: %s", cfg)
	}
	cfg, err = config.Load(writeFile(t, "master_key_file: /etc/ledger/key\n"), env(map[string]string{"LEDGER_MASTER_KEY_FILE": "/run/key"}))
	if err != nil || cfg.MasterKey != nil || cfg.MasterKeyFile != "/run/key" {
		t.Errorf("master key file: %q, %v; want the environment's /run/key", cfg.MasterKeyFile, err)
	}
	for _, bad := range []struct{ yaml, value, want string }{
		{"master_key_env: LEDGER_KEY\n", "", "the environment variable LEDGER_KEY is unset or empty"},
		{"master_key_env: LEDGER_KEY\n", "c2hvcnQ=", "master_key_env: LEDGER_KEY:"},
	} {
		_, err := config.Load(writeFile(t, bad.yaml), env(map[string]string{"LEDGER_KEY": bad.value}))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q with %q: err = %v, want %q", bad.yaml, bad.value, err, bad.want)
		}
	}
}

func TestDebugListen(t *testing.T) {
	cfg, err := config.Load(writeFile(t, "debug_listen: 127.0.0.1:6060\n"), env(map[string]string{"LEDGER_DEBUG_LISTEN": "[::1]:6061"}))
	if err != nil || cfg.DebugListen != "[::1]:6061" {
		t.Errorf("debug_listen: %q, %v; want the environment's [::1]:6061", cfg.DebugListen, err)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"debug_listen: 0.0.0.0:6060\n", "debug_listen: must be a loopback address"},
		{"debug_listen: 10.1.2.3:6060\n", "debug_listen: must be a loopback address"},
		{"debug_listen: six\n", "debug_listen: must be host:port"},
		{"listen: 127.0.0.1:8080\ndebug_listen: 127.0.0.1:8080\n", "debug_listen: must differ from the main listen"},
	} {
		if _, err := config.Load(writeFile(t, bad.yaml), env(nil)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

func TestSigningKeySetting(t *testing.T) {
	const skey = "PRIVATE+KEY+leadledger-test+0123abcd+AXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	cfg, err := config.Load(writeFile(t, "signing_key_env: CHECKPOINT_KEY\n"), env(map[string]string{"CHECKPOINT_KEY": skey}))
	if err != nil || cfg.SigningKey != skey {
		t.Fatalf("signing key from the environment: %q, %v", cfg.SigningKey, err)
	}
	if strings.Contains(cfg.String(), "PRIVATE") {
		t.Errorf("the config line shows the signing key: %s", cfg)
	}
	_, err = config.Load(writeFile(t, "signing_key_env: CHECKPOINT_KEY\n"), env(map[string]string{"CHECKPOINT_KEY": "hunter2"}))
	if err == nil || !strings.Contains(err.Error(), "CHECKPOINT_KEY does not hold a note signer key") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a wrong signing key: err = %v, want it named without its value", err)
	}
}
