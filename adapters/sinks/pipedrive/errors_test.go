package pipedrive_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
	"github.com/leadledger/leadledger/adapters/sinks/pipedrive"
	fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
)

// stub answers every request with status, headers and a Pipedrive error body.
func stub(t *testing.T, status int, message string, header ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"success":false,"error":` + quote(message) + `,"error_info":"Please check developers.pipedrive.com","data":null,"additional_data":null}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// noSecrets fails when an error text carries the token or the record's email (which rides in
// the search query).
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if s := err.Error(); strings.Contains(s, token) || strings.Contains(s, "jane") {
		t.Fatalf("error text leaks: %q", s)
	}
}

func TestUnauthorized(t *testing.T) {
	fake := fakepipedrive.New(fakepipedrive.Config{Token: "the-right-one"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	_, err := newClient(t, srv.URL).Upsert(context.Background(), []crm.Record{jane()})
	if !errors.Is(err, crm.ErrUnauthorized) || !strings.Contains(err.Error(), "unauthorized access") {
		t.Fatalf("err = %v, want crm.ErrUnauthorized with Pipedrive's text", err)
	}
	noSecrets(t, err)
}

func TestCallLevelErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, base := range map[string]string{
		"5xx echoing the token": stub(t, http.StatusInternalServerError, "internal error for "+token),
		"Cloudflare block":      stub(t, http.StatusForbidden, ""),
		"unreachable":           closed.URL,
	} {
		_, err := newClient(t, base).Upsert(context.Background(), []crm.Record{jane()})
		var th *crm.Throttled
		if errors.As(err, &th) || errors.Is(err, crm.ErrUnauthorized) {
			t.Errorf("%s: %v, want a plain error", name, err)
		}
		noSecrets(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(t, stub(t, 200, "")).Upsert(ctx, []crm.Record{jane()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestThrottledReplies(t *testing.T) {
	cases := []struct {
		name   string
		base   string
		daily  bool
		retry  time.Duration
		policy string
	}{
		{"daily header", stub(t, 429, "Too many requests", "X-Daily-Ratelimit-Token-Remaining", "0"), true, 0, "daily token budget"},
		{"daily text without header", stub(t, 429, "Daily limit reached"), true, 0, "daily token budget"},
		{"burst", stub(t, 429, "Request over limit", "X-Daily-Ratelimit-Token-Remaining", "1234", "X-Ratelimit-Reset", "2"), false, 0, "burst"},
		{"burst with Retry-After", stub(t, 429, "Request over limit", "Retry-After", "3"), false, 3 * time.Second, "burst"},
	}
	for _, tc := range cases {
		_, err := newClient(t, tc.base).Upsert(context.Background(), []crm.Record{jane()})
		var th *crm.Throttled
		if !errors.As(err, &th) || th.Daily != tc.daily || th.RetryAfter != tc.retry || th.Policy != tc.policy {
			t.Errorf("%s: %#v", tc.name, err)
		}
		noSecrets(t, err)
	}
}

// TestTokenNotSentAcrossRedirects: Go forwards custom headers on redirects, so the Client
// follows none; a redirect is an error and the other host never sees the token.
func TestTokenNotSentAcrossRedirects(t *testing.T) {
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-Api-Token") != "")
	}))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	c, err := pipedrive.New(pipedrive.Config{BaseURL: redirect.URL, Token: token, HTTPClient: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(context.Background(), []crm.Record{jane()}); err == nil || leaked.Load() {
		t.Fatalf("err = %v, token sent elsewhere: %v", err, leaked.Load())
	}
	if http.DefaultClient.CheckRedirect != nil {
		t.Fatal("the caller's HTTP client was changed")
	}
}

func TestNew(t *testing.T) {
	if _, err := pipedrive.New(pipedrive.Config{}); err == nil {
		t.Fatal("no token accepted")
	}
	for _, base := range []string{"ftp://api.pipedrive.com", "https://user:pw@api.pipedrive.com", "https://api.pipedrive.com?api_token=x", "api.pipedrive.com"} {
		_, err := pipedrive.New(pipedrive.Config{BaseURL: base, Token: token})
		if err == nil || strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "api_token=x") {
			t.Errorf("base %q: %v", base, err)
		}
	}
	c, err := pipedrive.New(pipedrive.Config{Token: token})
	if err != nil || c.MaxBatch() != 10 {
		t.Fatalf("defaults: %v", err)
	}
}
