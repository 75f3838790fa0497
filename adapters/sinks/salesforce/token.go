package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// tokenTimeout bounds a token request, which runs apart from any one caller's context.
const tokenTimeout = 30 * time.Second

// session is an access token and the instance it is good for.
type session struct {
	token    string
	instance string
}

// tokenFetch is one token request that every caller needing a token waits on.
type tokenFetch struct {
	done chan struct{}
	sess session
	err  error
}

// session returns the session to call with. stale is a token Salesforce just refused: a
// cached session holding it is not returned, a new token is fetched instead, unless another
// caller already replaced it. So any number of concurrent calls refused with the same token
// cost one token request.
func (c *Client) session(ctx context.Context, stale string) (session, error) {
	if c.cfg.Auth.Type == AuthBearer {
		return session{token: c.cfg.Auth.Token, instance: c.cfg.InstanceURL}, nil
	}
	c.mu.Lock()
	if c.current.token != "" && c.current.token != stale {
		s := c.current
		c.mu.Unlock()
		return s, nil
	}
	f := c.fetching
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		c.fetching = f
		// The request is shared, so one caller giving up must not fail the others: it runs
		// under its own deadline, not the caller's cancellation.
		go c.fetch(context.WithoutCancel(ctx), f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.sess, f.err
	case <-ctx.Done():
		return session{}, fmt.Errorf("salesforce: waiting for an access token: %w", ctx.Err())
	}
}

func (c *Client) fetch(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	sess, err := c.requestToken(ctx)
	c.mu.Lock()
	if err == nil {
		c.current = sess
		c.issued = append(c.issued, sess.token)
		if len(c.issued) > 8 {
			c.issued = c.issued[len(c.issued)-8:]
		}
	}
	c.fetching = nil
	f.sess, f.err = sess, err
	c.mu.Unlock()
	close(f.done)
}

// tokenReply is the token endpoint's answer, success or OAuth error. Salesforce sends no
// expires_in: a token is good until the session times out or is revoked, which shows as
// INVALID_SESSION_ID on a data call.
type tokenReply struct {
	AccessToken      string `json:"access_token"`
	InstanceURL      string `json:"instance_url"`
	TokenType        string `json:"token_type"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// requestToken runs the OAuth 2.0 client credentials flow.
func (c *Client) requestToken(ctx context.Context) (session, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.cfg.Auth.ClientID},
		"client_secret": {c.cfg.Auth.ClientSecret},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return session{}, fmt.Errorf("salesforce: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return session{}, c.transportError("token request", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return session{}, c.transportError("reading the token reply", err)
	}
	var reply tokenReply
	jsonErr := json.Unmarshal(raw, &reply)

	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		// invalid_client, invalid_client_id, invalid_grant (no run-as user, app disabled):
		// the credentials are wrong until someone fixes them.
		what := c.scrub(strings.TrimSpace(reply.Error + ": " + reply.ErrorDescription))
		if jsonErr != nil || reply.Error == "" {
			what = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return session{}, fmt.Errorf("salesforce: token request refused (%s): %w", what, crm.ErrUnauthorized)
	case resp.StatusCode != http.StatusOK:
		return session{}, fmt.Errorf("salesforce: token request: HTTP %d: %s", resp.StatusCode, c.snippet(raw))
	case jsonErr != nil || reply.AccessToken == "":
		return session{}, fmt.Errorf("salesforce: token reply unreadable: %s", c.snippet(raw))
	}
	instance := strings.TrimRight(reply.InstanceURL, "/")
	if instance == "" {
		instance = c.cfg.InstanceURL
	} else if err := checkURL("instance_url", instance); err != nil {
		return session{}, fmt.Errorf("salesforce: token reply: %w", err)
	}
	if instance == "" {
		return session{}, fmt.Errorf("salesforce: the token reply has no instance_url and none is configured")
	}
	return session{token: reply.AccessToken, instance: instance}, nil
}
