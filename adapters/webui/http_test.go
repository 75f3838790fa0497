package webui_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// client sees every answer as it is: it follows no redirect.
var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func send(t *testing.T, c *http.Client, method, target, session string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "leadledger_session", Value: session})
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func post(t *testing.T, target, session string, form url.Values) int {
	t.Helper()
	return send(t, client, http.MethodPost, target, session, form).StatusCode
}

func get(t *testing.T, target, session string) int {
	t.Helper()
	return send(t, client, http.MethodGet, target, session, nil).StatusCode
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInHTTP signs in as a plain HTTP client would, and returns the sign-in's answer.
func signInHTTP(t *testing.T, c *http.Client, base, token string) *http.Response {
	t.Helper()
	page := send(t, c, http.MethodGet, base+"/ui/signin", "", nil)
	body, _ := io.ReadAll(page.Body)
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", body)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/ui/signin", strings.NewReader(url.Values{"csrf": {string(m[1])}, "token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range page.Cookies() {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func sessionOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "leadledger_session" && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
	return ""
}

// TestUIOverHTTP checks what a browser does not show: the cookies' attributes as sent, the
// sign-in form's CSRF, expiry, the paths the UI refuses, and that the API beside it is
// served as before.
func TestUIOverHTTP(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)

			if resp := send(t, client, http.MethodGet, l.url+"/ui", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/leads" {
				t.Errorf("GET /ui: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp := send(t, client, http.MethodGet, l.url+"/ui/leads", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/signin" {
				t.Errorf("GET /ui/leads without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if status := post(t, l.url+"/ui/signin", "", url.Values{"token": {auditorToken}}); status != http.StatusForbidden {
				t.Errorf("a sign-in without the form's CSRF token answered %d, want 403", status)
			}
			if status := post(t, l.url+"/ui/signout", "", url.Values{}); status != http.StatusForbidden {
				t.Errorf("a sign-out without a session answered %d, want 403", status)
			}
			if resp := signInHTTP(t, client, l.url, "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a wrong token answered %d, want 401", resp.StatusCode)
			}

			resp := signInHTTP(t, client, l.url, auditorToken)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/leads" {
				t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			session := sessionOf(t, resp)
			for _, line := range resp.Header["Set-Cookie"] {
				if strings.HasPrefix(line, "leadledger_session=") {
					for _, want := range []string{"; Path=/ui", "; HttpOnly", "; SameSite=Strict"} {
						if !strings.Contains(line, want) {
							t.Errorf("session cookie %q lacks %q", line, want)
						}
					}
					if strings.Contains(line, "Secure") {
						t.Errorf("session cookie over plain HTTP is Secure: %q", line)
					}
				}
			}
			page := send(t, client, http.MethodGet, l.url+"/ui/leads", session, nil)
			if page.StatusCode != http.StatusOK || !strings.Contains(page.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
				page.Header.Get("Cache-Control") != "no-store" || page.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("leads page: %d, headers %v", page.StatusCode, page.Header)
			}
			for path, want := range map[string]int{
				"/ui/leads?q=%00":           http.StatusBadRequest, // PostgreSQL refuses a NUL; SQLite would match everything
				"/ui/leads?q=a;b":           http.StatusBadRequest,
				"/ui/leads?cursor=nonsense": http.StatusBadRequest,
				"/ui/leads/not-a-uuid":      http.StatusNotFound,
				"/ui/leads/" + "0190f0f0-0000-7000-8000-000000000000": http.StatusNotFound,
				"/ui/events?before=x":  http.StatusBadRequest,
				"/ui//leads":           http.StatusNotFound,
				"/ui/%2e%2e/v1/events": http.StatusNotFound,
				"/ui/nothing":          http.StatusNotFound,
			} {
				if got := get(t, l.url+path, session); got != want {
					t.Errorf("GET %s: %d, want %d", path, got, want)
				}
			}

			// The API beside the UI is served as before: paths as sent, never cleaned.
			for path, want := range map[string]int{"/healthz": 200, "/uix": 404, "/v1/leads": 401, "/v1/ingest/..%2f..%2fetc%2fpasswd": 404} {
				resp := send(t, client, http.MethodGet, l.url+path, "", nil)
				if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("API GET %s: %d %s, want %d from the API", path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
				}
			}

			// A session ends after 12 hours.
			l.now.Store(int64(12*time.Hour + time.Minute))
			if resp := send(t, client, http.MethodGet, l.url+"/ui/leads", session, nil); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("a session 12 hours old still opens pages: %d", resp.StatusCode)
			}
			l.now.Store(0)
		})
	}
}

// TestSessionCookieSecureOverTLS: served over TLS, the cookies are Secure.
func TestSessionCookieSecureOverTLS(t *testing.T) {
	l := newLedger(t, "sqlite")
	srv := httptest.NewTLSServer(l.handler)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = client.CheckRedirect
	resp := signInHTTP(t, c, srv.URL, operatorToken)
	found := false
	for _, line := range resp.Header["Set-Cookie"] {
		if strings.HasPrefix(line, "leadledger_session=") {
			found = true
			if !strings.Contains(line, "; Secure") || !strings.Contains(line, "; HttpOnly") || !strings.Contains(line, "; SameSite=Strict") {
				t.Errorf("session cookie over TLS: %q", line)
			}
		}
	}
	if !found {
		t.Errorf("no session cookie over TLS: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
}

var positionCell = regexp.MustCompile(`<td data-label="Position" class="pos">(\d+)</td>`)
var olderLink = regexp.MustCompile(`href="(/ui/events\?before=\d+)" id="older"`)

// TestEventLogPages follows the event log's pages from the head to the start: newest first,
// every position once.
func TestEventLogPages(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			const n = 120
			bodies := make([]string, n)
			for i := range bodies {
				bodies[i] = fmt.Sprintf(`{"firstName":"P%d","lastName":"Q","email":"p%d@example.com","conversationHistory":"hi"}`, i, i)
			}
			l.appendAll(t, "conversica", "conversica", bodies...)
			session := sessionOf(t, signInHTTP(t, client, l.url, auditorToken))
			var seen []int
			next, pages := "/ui/events", 0
			for next != "" {
				resp := send(t, client, http.MethodGet, l.url+next, session, nil)
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d", next, resp.StatusCode)
				}
				for _, m := range positionCell.FindAllSubmatch(body, -1) {
					p, _ := strconv.Atoi(string(m[1]))
					seen = append(seen, p)
				}
				next, pages = "", pages+1
				if m := olderLink.FindSubmatch(body); m != nil {
					next = string(m[1])
				}
			}
			if pages != 3 || len(seen) != n {
				t.Fatalf("%d pages, %d events; want 3 pages of the %d events", pages, len(seen), n)
			}
			for i, p := range seen {
				if p != n-i {
					t.Fatalf("event %d of the log's pages is position %d, want %d (newest first)", i, p, n-i)
				}
			}
		})
	}
}
