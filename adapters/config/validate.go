package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var sourceIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

var vendors = map[string]bool{"conversica": true, "whatconverts": true, "leadflo": true, "sensei": true}

// Validate reports every problem of the configuration at once. It never quotes a secret.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Listen == "" {
		add("listen is empty")
	}
	switch {
	case !strings.HasPrefix(c.Database, "sqlite:") && !strings.HasPrefix(c.Database, "postgres://") &&
		!strings.HasPrefix(c.Database, "postgresql://"):
		add("database must start with sqlite:, postgres:// or postgresql://")
	case !strings.HasPrefix(c.Database, "sqlite:"):
		// The driver's own parse error would quote the URL, password and all.
		if _, err := url.Parse(c.Database); err != nil {
			add("database is not a valid URL: percent-encode reserved characters (@ : / ? # %%) in its user name and password")
		}
	}
	if c.CheckpointInterval <= 0 || c.CheckpointInterval > time.Minute {
		add("checkpoint_interval must be more than 0 and at most 1m, got %s", c.CheckpointInterval)
	}
	if c.DatabaseWait < 0 {
		add("database_wait must not be negative, got %s", c.DatabaseWait)
	}
	if err := c.Metrics.validate(c.Listen); err != nil {
		add("metrics: %w", err)
	}
	if err := validateDebugListen(c.DebugListen, c.Listen); err != nil {
		add("debug_listen: %w", err)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls: give both cert_file and key_file, or neither")
	}
	if c.MaxBodyBytes <= 0 {
		add("max_body_bytes must be positive, got %d", c.MaxBodyBytes)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log_level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	names := map[string]bool{}
	holder := map[string]string{} // a secret's token: one secret must not name two tokens
	for _, t := range c.Tokens {
		if t.Name == "" || names[t.Name] {
			add("token names must be present and unique, got %q", t.Name)
		}
		names[t.Name] = true
		for _, secret := range t.Secrets {
			if other, taken := holder[secret]; taken && other != t.Name {
				// Which role it gave would depend on the list's order: an auditor could act as an operator.
				add("tokens %q and %q share a secret: every token's secret must be its own", other, t.Name)
			}
			holder[secret] = t.Name
		}
		if t.Role != RoleOperator && t.Role != RoleAuditor {
			add("token %q: role must be operator or auditor, got %q", t.Name, t.Role)
		}
		if len(t.Secrets) == 0 {
			add("token %q: no token given (token, token_env, tokens or tokens_env)", t.Name)
		}
	}
	ids := map[string]bool{}
	for _, s := range c.Sources {
		if !sourceIDPattern.MatchString(s.ID) || ids[s.ID] {
			add("source ids must be unique and match %s, got %q", sourceIDPattern, s.ID)
		}
		ids[s.ID] = true
		if !vendors[s.Vendor] {
			add("source %q: vendor must be conversica, whatconverts, leadflo or sensei, got %q", s.ID, s.Vendor)
		}
		if err := s.Auth.validate(); err != nil {
			add("source %q: %w", s.ID, err)
		}
	}
	if err := c.RateLimits.validate(ids, names); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (a Auth) validate() error {
	switch a.Type {
	case AuthBasic:
		if a.Username == "" || len(a.Secrets) == 0 {
			return errors.New("basic auth needs a username and a password")
		}
	case AuthHeaderSecret:
		if a.Header == "" || len(a.Secrets) == 0 {
			return errors.New("header_secret auth needs a header and a secret")
		}
	case AuthURLToken:
		if len(a.Secrets) == 0 {
			return errors.New("url_token auth needs a token")
		}
	case AuthStandardWebhooks:
		if len(a.SigningKeys) == 0 {
			return errors.New("standard_webhooks auth needs a whsec_ secret")
		}
	default:
		return fmt.Errorf("auth type must be basic, header_secret, url_token or standard_webhooks, got %q", a.Type)
	}
	return nil
}

// LogValue shows the configuration without any secret: ids, types and counts only.
func (c Config) LogValue() slog.Value {
	sources := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		sources[i] = fmt.Sprintf("%s(%s,%s,%d secrets)", s.ID, s.Vendor, s.Auth.Type, len(s.Auth.Secrets))
	}
	tokens := make([]string, len(c.Tokens))
	for i, t := range c.Tokens {
		tokens[i] = fmt.Sprintf("%s(%s)", t.Name, t.Role)
	}
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("database", RedactDatabase(c.Database)),
		slog.String("database_wait", c.DatabaseWait.String()),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Any("sources", sources),
		slog.Any("tokens", tokens),
		slog.String("metrics", c.Metrics.describe()),
		slog.String("debug_listen", c.DebugListen),
		slog.Bool("allow_private_sink_urls", c.AllowPrivateSinkURLs),
	)
}

// String is LogValue's text, so printing a Config never prints a secret.
func (c Config) String() string { return c.LogValue().String() }

// validateDebugListen accepts "" (off) or a loopback host:port other than the main address.
func validateDebugListen(addr, mainListen string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port, got %q", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("must be a loopback address (127.0.0.1, ::1 or localhost), got %q", addr)
	}
	if addr == mainListen {
		return errors.New("must differ from the main listen address")
	}
	return nil
}
