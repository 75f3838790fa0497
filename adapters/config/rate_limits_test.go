package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
)

const limitedSources = `
tokens:
  - {name: ops, role: operator, token: ops-token}
  - {name: audit, role: auditor, token: audit-token}
sources:
  - {id: wc, vendor: whatconverts, auth: {type: url_token, token: t1}}
  - {id: flo, vendor: leadflo, auth: {type: header_secret, header: X-Webhook-Secret, secret: s1}}
`

func TestRateLimitSettings(t *testing.T) {
	cfg, err := config.Load(writeFile(t, limitedSources), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, limited := cfg.RateLimits.ForSource("wc"); limited {
		t.Error("a source is limited by default")
	}
	cfg, err = config.Load(writeFile(t, limitedSources+`
rate_limits:
  source_default: {requests: 200, per_seconds: 1, burst: 400}
  sources: {wc: {requests: 30, per_seconds: 60}}
  tokens: {audit: {requests: 5, per_seconds: 0.5}}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		limit   config.RateLimit
		limited bool
		every   time.Duration
		burst   int
	}{
		{"named source", must(cfg.RateLimits.ForSource("wc")), true, 2 * time.Second, 30},
		{"other source: the default", must(cfg.RateLimits.ForSource("flo")), true, 5 * time.Millisecond, 400},
		{"named token", must(cfg.RateLimits.ForToken("audit")), true, 100 * time.Millisecond, 5},
	} {
		if c.limit.Every() != c.every || c.limit.BurstSize() != c.burst {
			t.Errorf("%s: every %s, burst %d; want %s, %d", c.name, c.limit.Every(), c.limit.BurstSize(), c.every, c.burst)
		}
	}
	if _, limited := cfg.RateLimits.ForToken("ops"); limited {
		t.Error("a token without an entry or a default is limited")
	}

	for _, bad := range []struct{ yaml, want string }{
		{"rate_limits: {sources: {nope: {requests: 1, per_seconds: 1}}}", `rate_limits: sources: "nope" is not configured`},
		{"rate_limits: {tokens: {nope: {requests: 1, per_seconds: 1}}}", `rate_limits: tokens: "nope" is not configured`},
		{"rate_limits: {source_default: {requests: 0, per_seconds: 1}}", "rate_limits: source_default: requests and per_seconds must be positive"},
		{"rate_limits: {sources: {wc: {requests: 5}}}", "rate_limits: sources.wc: requests and per_seconds must be positive"},
		{"rate_limits: {token_default: {requests: 5, per_seconds: 1, burst: -1}}", "burst not negative"},
		{"rate_limits: {source_default: {request: 5}}", "field request not found"},
	} {
		_, err := config.Load(writeFile(t, limitedSources+bad.yaml+"\n"), env(nil))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.yaml, err, bad.want)
		}
	}
}

func must(l config.RateLimit, ok bool) config.RateLimit {
	if !ok {
		return config.RateLimit{}
	}
	return l
}

func TestAllowPrivateSinkURLs(t *testing.T) {
	for _, c := range []struct {
		yaml, env string
		want      bool
	}{
		{"", "", false},
		{"allow_private_sink_urls: true\n", "", true},
		{"allow_private_sink_urls: true\n", "false", false},
		{"", "1", true},
	} {
		cfg, err := config.Load(writeFile(t, c.yaml), env(map[string]string{"LEDGER_ALLOW_PRIVATE_SINK_URLS": c.env}))
		if err != nil || cfg.AllowPrivateSinkURLs != c.want {
			t.Errorf("file %q, env %q: %v, %v; want %v", c.yaml, c.env, cfg.AllowPrivateSinkURLs, err, c.want)
		}
		if !strings.Contains(cfg.String(), "allow_private_sink_urls=") {
			t.Errorf("the config line does not say whether private sink URLs are allowed: %s", cfg)
		}
	}
	if _, err := config.Load("", env(map[string]string{"LEDGER_ALLOW_PRIVATE_SINK_URLS": "yes"})); err == nil ||
		!strings.Contains(err.Error(), `LEDGER_ALLOW_PRIVATE_SINK_URLS: "yes" is not true or false`) {
		t.Errorf("LEDGER_ALLOW_PRIVATE_SINK_URLS=yes: %v", err)
	}
}
