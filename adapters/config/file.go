package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/leadledger/leadledger/adapters/sealed"
	"github.com/leadledger/leadledger/adapters/standardwebhooks"
)

// file is the YAML shape of the configuration, before secrets are resolved.
type file struct {
	Listen         string       `yaml:"listen"`
	Database       string       `yaml:"database"`
	DatabaseWait   string       `yaml:"database_wait"` // a Go duration: 60s, 2m
	MaxBodyBytes   int64        `yaml:"max_body_bytes"`
	LogLevel       string       `yaml:"log_level"`
	RunProjections *bool        `yaml:"run_projections"`
	Tokens         []fileToken  `yaml:"tokens"`
	Sources        []fileSource `yaml:"sources"`
	Metrics        fileMetrics  `yaml:"metrics"`
	MasterKeyEnv   string       `yaml:"master_key_env"`
	MasterKeyFile  string       `yaml:"master_key_file"`
	DebugListen    string       `yaml:"debug_listen"`
	SigningKeyEnv  string       `yaml:"signing_key_env"`
	TLS            TLS          `yaml:"tls"`
	RateLimits     RateLimits   `yaml:"rate_limits"`
	// AllowPrivateSinkURLs is a pointer so that LEDGER_ALLOW_PRIVATE_SINK_URLS can tell unset from false.
	AllowPrivateSinkURLs *bool `yaml:"allow_private_sink_urls"`
	// CheckpointInterval is a Go duration: 30s, 1m.
	CheckpointInterval string `yaml:"checkpoint_interval"`
	// MasterKeyPreviousEnv names the variables of older master keys, during a rotation.
	MasterKeyPreviousEnv []string `yaml:"master_key_previous_env"`
}

// signingKey reads the checkpoint signing key from the variable signing_key_env names; "" when
// none is named.
func (f file) signingKey(getenv func(string) string) (string, error) {
	name := f.SigningKeyEnv
	if v := getenv("LEDGER_SIGNING_KEY_ENV"); v != "" {
		name = v
	}
	if name == "" {
		return "", nil
	}
	value := getenv(name)
	if !strings.HasPrefix(value, "PRIVATE+KEY+") {
		return "", fmt.Errorf("signing_key_env: the environment variable %s does not hold a note signer key (PRIVATE+KEY+<name>+<hash>+<key>)", name)
	}
	return value, nil
}

// masterKey reads the master key from the variable master_key_env names; nil when none is named.
func (f file) masterKey(getenv func(string) string) ([]byte, error) {
	name := f.MasterKeyEnv
	if v := getenv("LEDGER_MASTER_KEY_ENV"); v != "" {
		name = v
	}
	if name == "" {
		return nil, nil
	}
	value := getenv(name)
	if value == "" {
		return nil, fmt.Errorf("master_key_env: the environment variable %s is unset or empty", name)
	}
	key, err := sealed.ParseKey(value)
	if err != nil {
		return nil, fmt.Errorf("master_key_env: %s: %w", name, err)
	}
	return key, nil
}

// masterKeyPrevious reads the older master keys, which open what they sealed until
// leadledger rotate-key has re-sealed it, from the variables master_key_previous_env names
// (LEDGER_MASTER_KEY_PREVIOUS_ENV: names separated by commas). Every problem is reported.
func (f file) masterKeyPrevious(getenv func(string) string) ([][]byte, error) {
	names := f.MasterKeyPreviousEnv
	if v := getenv("LEDGER_MASTER_KEY_PREVIOUS_ENV"); v != "" {
		names = strings.Split(v, ",")
	}
	var keys [][]byte
	var errs []error
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		value := getenv(name)
		if value == "" {
			errs = append(errs, fmt.Errorf("master_key_previous_env: the environment variable %s is unset or empty", name))
			continue
		}
		key, err := sealed.ParseKey(value)
		if err != nil {
			errs = append(errs, fmt.Errorf("master_key_previous_env: %s: %w", name, err))
			continue
		}
		keys = append(keys, key)
	}
	return keys, errors.Join(errs...)
}

type fileToken struct {
	Name       string `yaml:"name"`
	Role       Role   `yaml:"role"`
	secretRefs `yaml:",inline"`
}

type fileSource struct {
	ID     string   `yaml:"id"`
	Vendor string   `yaml:"vendor"`
	Auth   fileAuth `yaml:"auth"`
}

type fileAuth struct {
	Type       string `yaml:"type"`
	Username   string `yaml:"username"`
	Header     string `yaml:"header"`
	secretRefs `yaml:",inline"`
}

// secretRefs are the ways a secret may be given: inline or by an environment variable's name,
// singly or as a list (rotation), under the word the auth type uses for it.
type secretRefs struct {
	Password     string   `yaml:"password"`
	PasswordEnv  string   `yaml:"password_env"`
	Passwords    []string `yaml:"passwords"`
	PasswordsEnv []string `yaml:"passwords_env"`
	Token        string   `yaml:"token"`
	TokenEnv     string   `yaml:"token_env"`
	Tokens       []string `yaml:"tokens"`
	TokensEnv    []string `yaml:"tokens_env"`
	Secret       string   `yaml:"secret"`
	SecretEnv    string   `yaml:"secret_env"`
	Secrets      []string `yaml:"secrets"`
	SecretsEnv   []string `yaml:"secrets_env"`
}

// resolve returns every secret given, in order: inline ones first, then those from variables.
// An unset or empty variable is an error naming it (never its value: there is none).
func (r secretRefs) resolve(getenv func(string) string) ([]string, error) {
	var out []string
	for _, v := range [][]string{{r.Password}, r.Passwords, {r.Token}, r.Tokens, {r.Secret}, r.Secrets} {
		for _, s := range v {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	var missing []string
	for _, names := range [][]string{{r.PasswordEnv}, r.PasswordsEnv, {r.TokenEnv}, r.TokensEnv, {r.SecretEnv}, r.SecretsEnv} {
		for _, name := range names {
			if name == "" {
				continue
			}
			if v := getenv(name); v != "" {
				out = append(out, v)
			} else {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

func (t fileToken) resolve(getenv func(string) string) (Token, error) {
	secrets, err := t.secretRefs.resolve(getenv)
	if err != nil {
		return Token{}, fmt.Errorf("token %q: %w", t.Name, err)
	}
	return Token{Name: t.Name, Role: t.Role, Secrets: secrets}, nil
}

func (s fileSource) resolve(getenv func(string) string) (Source, error) {
	secrets, err := s.Auth.secretRefs.resolve(getenv)
	if err != nil {
		return Source{}, fmt.Errorf("source %q: %w", s.ID, err)
	}
	auth := Auth{Type: s.Auth.Type, Username: s.Auth.Username, Header: s.Auth.Header, Secrets: secrets}
	if auth.Type == AuthStandardWebhooks {
		for i, secret := range secrets {
			key, err := standardwebhooks.DecodeSecret(secret)
			if err != nil {
				return Source{}, fmt.Errorf("source %q: secret %d: %w", s.ID, i+1, err)
			}
			auth.SigningKeys = append(auth.SigningKeys, key)
		}
	}
	return Source{ID: s.ID, Vendor: s.Vendor, Auth: auth}, nil
}
