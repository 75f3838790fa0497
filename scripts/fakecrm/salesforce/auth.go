package salesforce

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// orgID and userID appear in tokens and the identity URL, as in a real org.
const (
	orgID  = "00D5g000004fakeEAA"
	userID = "0055g00000fakeUAAQ"
)

// serveToken is the OAuth 2.0 client credentials flow: form grant_type, client_id and
// client_secret (or HTTP Basic), answered with access_token, instance_url, id, token_type,
// issued_at and signature. Salesforce sends no expires_in: a token lives until the session
// times out or is revoked, which ExpireTokens simulates.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "invalid form body")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	// Salesforce tells an unknown client id apart from a wrong secret, both with 400.
	if id == "" || !equal(id, s.cfg.ClientID) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if !equal(secret, s.cfg.ClientSecret) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}

	token := orgID[:15] + "!" + randomString(48)
	instance := instanceURL(r)
	identity := instance + "/id/" + orgID + "/" + userID
	issuedAt := strconv.FormatInt(time.Now().UnixMilli(), 10)
	// signature: Base64 HMAC-SHA256 over the identity URL and issued_at, keyed with the client
	// secret, so a client can check the reply came from the org holding its secret.
	mac := hmac.New(sha256.New, []byte(s.cfg.ClientSecret))
	mac.Write([]byte(identity + issuedAt))

	s.mu.Lock()
	s.tokens[token] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": token,
		"instance_url": instance,
		"id":           identity,
		"token_type":   "Bearer",
		"issued_at":    issuedAt,
		"signature":    base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"scope":        "api",
	})
}

// admit checks a data request's session and counts it against the daily limit; it answers
// the request itself and returns false when it is refused.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "OAuth")) || token == "" {
		// What Salesforce answers a request without a usable Authorization header.
		writeErrors(w, http.StatusUnauthorized, apiError{"INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE"})
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tokens[token] {
		writeErrors(w, http.StatusUnauthorized, apiError{"INVALID_SESSION_ID", "Session expired or invalid"})
		return false
	}
	s.calls++
	refused := s.cfg.DailyLimit > 0 && s.used >= s.cfg.DailyLimit
	if !refused {
		s.used++
	}
	// Sforce-Limit-Info comes with every REST reply: calls used today / the org's limit. With
	// the limit off, the fake shows a Developer Edition's 15,000.
	limit := s.cfg.DailyLimit
	if limit == 0 {
		limit = 15000
	}
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.used, limit))
	if refused {
		// No Retry-After: the daily limit is a rolling 24 hours.
		writeErrors(w, http.StatusForbidden, apiError{"REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."})
		return false
	}
	return true
}

// instanceURL is the org's own address as the client reached it.
func instanceURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = base62[int(b[i])%len(base62)]
	}
	return string(b)
}
