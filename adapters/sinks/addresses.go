package sinks

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/netguard"
)

// RegistryOption tunes a Registry.
type RegistryOption func(*Registry)

// AllowPrivateURLs lets sinks reach loopback, private, link-local and the other addresses the
// guard refuses (allow_private_sink_urls). Without it they are refused when a sink is created
// or changed, and every connection to one is refused when it is made (see package netguard).
// The delivery engine keeps to its registry's setting.
func AllowPrivateURLs(allow bool) RegistryOption {
	return func(r *Registry) { r.guard.AllowPrivate = allow }
}

// newTransport is an HTTP transport whose connections go through the guard. A guarded one
// uses no proxy (HTTP_PROXY, HTTPS_PROXY): the proxy would connect for it, out of its sight.
func newTransport(g netguard.Guard) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if g.AllowPrivate {
		return t
	}
	t.Proxy = nil
	t.DialContext = g.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// natsDialer dials a NATS sink's servers through the guard; nil lets nats.go dial.
func natsDialer(g netguard.Guard) *net.Dialer {
	if g.AllowPrivate {
		return nil
	}
	return g.Dialer(&net.Dialer{Timeout: 2 * time.Second}) // nats.go's own default
}

// checkAddresses refuses a new sink whose URLs reach an address the guard refuses, naming the
// field. Its config was validated before.
func (r *Registry) checkAddresses(ctx context.Context, n NewSink) error {
	if r.guard.AllowPrivate {
		return nil
	}
	switch n.Type {
	case TypeWebhook:
		return r.checkURL(ctx, "url", n.URL)
	case TypeHubSpot:
		c, _ := decodeConfig[hubspotConfig](n.Config)
		return r.checkURL(ctx, "config.base_url", c.BaseURL)
	case TypePipedrive:
		c, _ := decodeConfig[pipedriveConfig](n.Config)
		return r.checkURL(ctx, "config.base_url", c.BaseURL)
	case TypeSalesforce:
		c, _ := decodeConfig[salesforceConfig](n.Config)
		return firstError(r.checkURL(ctx, "config.instance_url", c.InstanceURL), r.checkURL(ctx, "config.auth.token_url", c.Auth.TokenURL))
	case TypeNATS:
		c, _ := decodeConfig[natsConfig](n.Config)
		for part := range strings.SplitSeq(c.URL, ",") { // the servers of one cluster
			if err := r.checkURL(ctx, "config.url", strings.TrimSpace(part)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkURL checks one URL's host; an empty URL (a CRM's default) is not checked.
func (r *Registry) checkURL(ctx context.Context, field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("Invalid %s: not a valid URL", field)
	}
	if err := r.guard.CheckHost(ctx, u.Hostname()); err != nil {
		return invalid("Invalid %s: %v", field, err)
	}
	return nil
}
