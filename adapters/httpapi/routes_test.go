package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// noRedirects is a client that shows a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send makes one request exactly as written (the path is not cleaned by the client either).
func send(t *testing.T, method, url, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if method != http.MethodHead {
		if err := json.Unmarshal(data, &body); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s: %d %q is not a JSON reply (%s)", method, url, resp.StatusCode, data, resp.Header.Get("Content-Type"))
		}
	}
	return resp, body
}

// A path is matched as sent: nothing under /v1 (or anywhere) is cleaned and redirected.
func TestPathsAreNeverCleanedIntoRedirects(t *testing.T) {
	l := newLedger(t, "sqlite")
	for _, c := range []struct{ method, path, token string }{
		{"POST", "/v1/ingest/..%2f..%2fetc%2fpasswd", ""},
		{"POST", "/v1/ingest/..%2F..%2Fetc%2Fpasswd", ""},
		{"POST", "/v1/ingest/../../etc/passwd", ""},
		{"POST", "/v1/ingest/leadflo/../conversica", ""},
		{"POST", "//v1/ingest/leadflo", ""},
		{"GET", "/v1/./leads", auditorToken},
		{"GET", "/v1/leads/../events", auditorToken},
		{"GET", "/v1//events", auditorToken},
		{"GET", "/v1/leads/", auditorToken},
		{"GET", "/v1/nothing", auditorToken},
		{"GET", "/../healthz", ""},
	} {
		resp, body := send(t, c.method, l.url+c.path, c.token)
		if resp.StatusCode != http.StatusNotFound || body["status"] != "404" || resp.Header.Get("Location") != "" {
			t.Errorf("%s %s: %d Location %q %v, want a 404 JSON reply and no redirect", c.method, c.path, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
}

// A known path with a method it does not take is a 405 whose Allow lists the methods it does.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	l := newLedger(t, "sqlite")
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/v1/ingest/leadflo", "POST"},
		{"PUT", "/v1/ingest/leadflo", "POST"},
		{"DELETE", "/v1/ingest/leadflo", "POST"},
		{"PATCH", "/v1/ingest/no-such-source", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/readyz", "GET, HEAD"},
		{"POST", "/metrics", "GET, HEAD"},
		{"POST", "/v1/events", "GET, HEAD"},
		{"POST", "/v1/events/stream", "GET, HEAD"},
		{"POST", "/v1/rejections", "GET, HEAD"},
		{"DELETE", "/v1/rejections/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d", "GET, HEAD"},
		{"PUT", "/v1/sources", "GET, HEAD"},
		{"POST", "/v1/leads", "GET, HEAD"},
		{"PUT", "/v1/leads/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d", "GET, HEAD"},
		{"POST", "/v1/status", "GET, HEAD"},
		{"GET", "/v1/projections/lead_view/rebuild", "POST"},
		{"PUT", "/v1/sinks", "GET, HEAD, POST"},
		{"POST", "/v1/sinks/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d", "DELETE, GET, HEAD, PATCH"},
		{"GET", "/v1/sinks/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d/pause", "POST"},
		{"DELETE", "/v1/sinks/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d/replays", "GET, HEAD, POST"},
		{"GET", "/v1/replays/0190d6a4-5f6e-7c2b-9a1d-3e4f5a6b7c8d/cancel", "POST"},
	} {
		for _, token := range []string{"", operatorToken} {
			resp, body := send(t, c.method, l.url+c.path, token)
			if resp.StatusCode != http.StatusMethodNotAllowed || body["status"] != "405" || resp.Header.Get("Allow") != c.allow {
				t.Errorf("%s %s: %d Allow %q %v, want 405 Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), body, c.allow)
			}
		}
	}
	// The methods in Allow are served.
	if resp, _ := send(t, http.MethodHead, l.url+"/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /healthz: %d, want 200", resp.StatusCode)
	}
	if resp, body := send(t, http.MethodGet, l.url+"/v1/leads", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/leads without a token: %d %v, want 401", resp.StatusCode, body)
	}
}
