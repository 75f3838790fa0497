package pipedrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// DefaultBaseURL is Pipedrive's API host; API v1 and v2 paths both hang off it.
const DefaultBaseURL = "https://api.pipedrive.com"

// maxBatch is how many records one Upsert carries; see MaxBatch.
const maxBatch = 10

// Config is how a Client reaches Pipedrive.
type Config struct {
	// BaseURL is the API's scheme and host (a fake's in tests). Defaults to DefaultBaseURL.
	BaseURL string
	// Token is the API token, sent as the x-api-token header. Required.
	Token string
	// HTTPClient sends the requests. Defaults to one with a 10 s timeout. The Client uses a
	// copy that follows no redirect, so the token header never goes to another host.
	HTTPClient *http.Client
}

// Client writes records into one Pipedrive company. It is safe for concurrent use.
type Client struct {
	base  string // no trailing slash
	token string
	http  *http.Client
	memo  *memo
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("pipedrive: a token is required")
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("pipedrive: the token holds a line break")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		// Neither base nor err is shown: a pasted URL may hold credentials.
		return nil, errors.New("pipedrive: the base URL must be http(s)://host[/path], without credentials or query")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: strings.TrimRight(base, "/"), token: cfg.Token, http: hc, memo: newMemo()}, nil
}

// MaxBatch is 10. Pipedrive has no batch write: each record is two to six sequential requests
// (search 20 tokens, list leads 20, writes 5–10, reads 1–2), and searches are held to 10 per
// 2 s on every plan. Ten records keep one call to a few seconds at the lowest plan's 20
// requests per 2 s, well inside a delivery timeout, and bound the work a call-level error
// interrupts (which the Client resumes rather than repeats; see the package doc).
func (c *Client) MaxBatch() int { return maxBatch }

// Upsert writes records, in order, one after the other, and returns one outcome per record at
// the same index. A record Pipedrive refuses fails alone, in its Outcome.Err. A call-level
// error (*crm.Throttled, crm.ErrUnauthorized, network, 5xx) stops the call and returns no
// outcomes; retrying the same records resumes where it stopped (see the package doc).
func (c *Client) Upsert(ctx context.Context, records []crm.Record) ([]crm.Outcome, error) {
	outcomes := make([]crm.Outcome, len(records))
	for i, r := range records {
		fp := fingerprint(r)
		if out, ok := c.memo.finished(r.Key, fp); ok {
			outcomes[i] = out
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pipedrive: %w", err)
		}
		p := c.memo.progress(r.Key)
		out, err := c.upsert(ctx, r, &p)
		if err != nil {
			c.memo.keep(r.Key, fp, p, nil)
			return nil, err
		}
		// Kept until the call ends, in case a later record of it is interrupted.
		c.memo.keep(r.Key, fp, p, &out)
		outcomes[i] = out
	}
	c.memo.forget(records)
	return outcomes, nil
}
