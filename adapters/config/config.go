// Package config loads the ledger's configuration: a YAML file, then environment overrides for
// every top-level scalar, with secrets given inline or by naming an environment variable.
// It is the only place besides cmd/ that reads the environment.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the ledger's configuration, with every secret resolved.
type Config struct {
	Listen       string        // LEDGER_LISTEN; default 127.0.0.1:8080
	Database     string        // LEDGER_DATABASE; default sqlite:./data/ledger.db
	DatabaseWait time.Duration // LEDGER_DATABASE_WAIT; default 60s: how long start-up waits for PostgreSQL; 0 tries once
	MaxBodyBytes int64         // LEDGER_MAX_BODY_BYTES; default 1 MiB
	LogLevel     string        // LEDGER_LOG_LEVEL; debug | info | warn | error, default info
	// RunProjections runs the log's readers (the lead view and sink delivery) in this process;
	// LEDGER_RUN_PROJECTIONS. Default true. False makes an ingest-only process: several can
	// share one database, while other processes keep the views and deliver to sinks.
	RunProjections bool
	Tokens         []Token // bearer tokens of the read and admin APIs
	Sources        []Source
	Metrics        Metrics // where /metrics is served and who may read it
	// MasterKey seals sink credentials at rest (AES-256-GCM): the key in the environment
	// variable master_key_env names (LEDGER_MASTER_KEY_ENV), base64 or hex of 32 bytes.
	// Nil: the key is read from MasterKeyFile, created there on first start.
	MasterKey []byte
	// MasterKeyFile is where the master key is kept when no master_key_env is set
	// (LEDGER_MASTER_KEY_FILE); "" puts it beside the SQLite database.
	MasterKeyFile string
	// MasterKeyPrevious are older master keys (master_key_previous_env,
	// LEDGER_MASTER_KEY_PREVIOUS_ENV): the keyring opens what they sealed, and seals with the
	// current key only, while leadledger rotate-key re-seals everything under it.
	MasterKeyPrevious [][]byte
	// TLS, when both files are given, serves the API on listen over HTTPS (TLS 1.2 and later).
	TLS TLS
	// DebugListen serves net/http/pprof at /debug/pprof/ (LEDGER_DEBUG_LISTEN); off when empty.
	// Profiles show the process's internals, so only a loopback address is accepted.
	DebugListen string
	// SigningKey signs the log's checkpoints: a note signer key (PRIVATE+KEY+<name>+...) from
	// the environment variable signing_key_env names (LEDGER_SIGNING_KEY_ENV). "": the server
	// makes one and keeps it in the database, sealed under the master key.
	SigningKey string
	// RateLimits bound each source's webhooks and each token's API calls (429 past them).
	RateLimits RateLimits
	// AllowPrivateSinkURLs lets sinks and CRM base URLs reach loopback, private, link-local and
	// metadata addresses (LEDGER_ALLOW_PRIVATE_SINK_URLS). Off by default: a sink's URL is
	// chosen through the API, and must not become a way into the ledger's own network.
	AllowPrivateSinkURLs bool
	// CheckpointInterval is how often, at most, a checkpoint is signed while the log grows
	// (LEDGER_CHECKPOINT_INTERVAL); default 30s, at most 1m.
	CheckpointInterval time.Duration
}

// Role is what a bearer token may do.
type Role string

// The roles. An operator may do everything an auditor may.
const (
	RoleOperator Role = "operator"
	RoleAuditor  Role = "auditor"
)

// Token is a named bearer token. Several values allow rotation.
type Token struct {
	Name    string
	Role    Role
	Secrets []string
}

// Source is a vendor endpoint: POST /v1/ingest/{ID}.
type Source struct {
	ID     string
	Vendor string // conversica | whatconverts | leadflo | sensei
	Auth   Auth
}

// The source authentication types.
const (
	AuthBasic            = "basic"
	AuthHeaderSecret     = "header_secret"
	AuthURLToken         = "url_token"
	AuthStandardWebhooks = "standard_webhooks"
)

// Auth is how a source proves who it is.
type Auth struct {
	Type     string
	Username string // basic
	Header   string // header_secret
	// Secrets are the accepted passwords (basic), tokens (url_token) or secrets (header_secret,
	// standard_webhooks as "whsec_..."); several during a rotation.
	Secrets []string
	// SigningKeys are the standard_webhooks secrets decoded from their whsec_ base64 form.
	SigningKeys [][]byte
}

const (
	defaultListen   = "127.0.0.1:8080"
	defaultDatabase = "sqlite:./data/ledger.db"
	defaultMaxBody  = 1 << 20
	// defaultDatabaseWait outlasts a PostgreSQL container's first start (initdb, then restart).
	defaultDatabaseWait = 60 * time.Second
)

// Load reads the YAML file at path ("" for none: defaults and environment only), applies the
// LEDGER_* overrides, resolves every *_env secret through getenv, and validates the result.
func Load(path string, getenv func(string) string) (Config, error) {
	var f file
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true) // a misspelt key is an error, not a silently ignored setting
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	cfg := Config{Listen: defaultListen, Database: defaultDatabase, DatabaseWait: defaultDatabaseWait,
		MaxBodyBytes: defaultMaxBody, LogLevel: "info", RunProjections: true, CheckpointInterval: 30 * time.Second}
	if err := f.applyScalars(&cfg, getenv); err != nil {
		return Config{}, err
	}
	var errs []error
	for _, t := range f.Tokens {
		tok, err := t.resolve(getenv)
		errs = append(errs, err)
		cfg.Tokens = append(cfg.Tokens, tok)
	}
	for _, s := range f.Sources {
		src, err := s.resolve(getenv)
		errs = append(errs, err)
		cfg.Sources = append(cfg.Sources, src)
	}
	metrics, err := f.Metrics.resolve(getenv)
	errs = append(errs, err)
	cfg.Metrics = metrics
	cfg.MasterKey, err = f.masterKey(getenv)
	errs = append(errs, err)
	cfg.MasterKeyPrevious, err = f.masterKeyPrevious(getenv)
	errs = append(errs, err)
	cfg.SigningKey, err = f.signingKey(getenv)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid config: %w", err)
	}
	return cfg, nil
}

// applyScalars sets the top-level scalars: the file's value, then LEDGER_<KEY> over it.
func (f file) applyScalars(cfg *Config, getenv func(string) string) error {
	str := func(dst *string, fromFile, env string) {
		if fromFile != "" {
			*dst = fromFile
		}
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	str(&cfg.Listen, f.Listen, "LEDGER_LISTEN")
	str(&cfg.Database, f.Database, "LEDGER_DATABASE")
	str(&cfg.LogLevel, f.LogLevel, "LEDGER_LOG_LEVEL")
	str(&cfg.MasterKeyFile, f.MasterKeyFile, "LEDGER_MASTER_KEY_FILE")
	str(&cfg.DebugListen, f.DebugListen, "LEDGER_DEBUG_LISTEN")
	str(&cfg.TLS.CertFile, f.TLS.CertFile, "LEDGER_TLS_CERT_FILE")
	str(&cfg.TLS.KeyFile, f.TLS.KeyFile, "LEDGER_TLS_KEY_FILE")
	if f.MaxBodyBytes != 0 {
		cfg.MaxBodyBytes = f.MaxBodyBytes
	}
	cfg.RateLimits = f.RateLimits
	for _, b := range []struct {
		dst      *bool
		fromFile *bool
		env      string
	}{{&cfg.RunProjections, f.RunProjections, "LEDGER_RUN_PROJECTIONS"}, {&cfg.AllowPrivateSinkURLs, f.AllowPrivateSinkURLs, "LEDGER_ALLOW_PRIVATE_SINK_URLS"}} {
		if b.fromFile != nil {
			*b.dst = *b.fromFile
		}
		if v := getenv(b.env); v != "" {
			parsed, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not true or false", b.env, v)
			}
			*b.dst = parsed
		}
	}
	for _, d := range []struct {
		dst            *time.Duration
		fromFile, name string
	}{{&cfg.DatabaseWait, f.DatabaseWait, "database_wait"}, {&cfg.CheckpointInterval, f.CheckpointInterval, "checkpoint_interval"}} {
		env := "LEDGER_" + strings.ToUpper(d.name)
		var v string
		if str(&v, d.fromFile, env); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s (%s): %q is not a duration such as 30s or 2m", d.name, env, v)
			}
			*d.dst = parsed
		}
	}
	if v := getenv("LEDGER_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("LEDGER_MAX_BODY_BYTES: %q is not an integer", v)
		}
		cfg.MaxBodyBytes = n
	}
	return nil
}

// Source returns the source with the given id.
func (c Config) Source(id string) (Source, bool) {
	for _, s := range c.Sources {
		if s.ID == id {
			return s, true
		}
	}
	return Source{}, false
}

// TLS names a PEM certificate (with its chain) and its private key. The files are read at start
// and again on SIGHUP, so a renewed certificate is served without a restart.
type TLS struct {
	CertFile string `yaml:"cert_file"` // LEDGER_TLS_CERT_FILE
	KeyFile  string `yaml:"key_file"`  // LEDGER_TLS_KEY_FILE
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }
