package pipedrive

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"
)

// Token costs of the endpoints the fake serves, from the x-token-cost of Pipedrive's API
// reference (OpenAPI v1 and v2).
const (
	costSearch       = 20 // GET /api/v2/persons/search
	costGetPerson    = 1  // GET /api/v2/persons/{id}
	costWritePerson  = 5  // POST /api/v2/persons, PATCH /api/v2/persons/{id}
	costDeletePerson = 3  // DELETE /api/v2/persons/{id}
	costListLeads    = 20 // GET /v1/leads
	costGetLead      = 2  // GET /v1/leads/{id}
	costWriteLead    = 10 // POST /v1/leads, PATCH /v1/leads/{id}
	costDeleteLead   = 6  // DELETE /v1/leads/{id}
)

// Texts of the refusals. Pipedrive documents the 401 text; the 429 texts are not documented,
// so these are plausible stand-ins: clients must tell the daily budget from the burst limit
// by the x-daily-ratelimit-token-remaining header, not by these words.
const (
	msgUnauthorized = "unauthorized access"
	msgBurst        = "Request over limit"
	msgDaily        = "Daily API token budget exceeded"
	errorInfo       = "Please check developers.pipedrive.com for more information about Pipedrive API."
)

// limiter is the fake's rate limiting: two rolling windows (all requests, searches) and the
// day's token budget. Guarded by Server.mu.
type limiter struct {
	recent   []time.Time // accepted requests within the burst window, oldest first
	searches []time.Time // accepted searches within the window, oldest first
	spent    int         // tokens spent today
}

// gate wraps a route's handler with what every Pipedrive request goes through: the call
// count, authentication, the rate limits and the token cost.
func (s *Server) gate(cost int, search bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls++
		if !s.authorized(r) {
			s.mu.Unlock()
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"success": false, "error": msgUnauthorized, "errorCode": http.StatusUnauthorized,
				"error_info": errorInfo, "data": nil, "additional_data": nil,
			})
			return
		}
		refusal := s.admit(w.Header(), cost, search)
		if refusal != "" {
			s.throttled++
		}
		s.mu.Unlock()
		if refusal != "" {
			// Pipedrive sends no Retry-After: a client waits for the window to roll on.
			writeError(w, http.StatusTooManyRequests, refusal)
			return
		}
		h(w, r)
	}
}

// authorized reports whether the request carries the configured token. Pipedrive takes it
// from the x-api-token header, or the older api_token query parameter.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	token := r.Header.Get("X-Api-Token")
	if token == "" {
		token = r.URL.Query().Get("api_token")
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) == 1
}

// admit applies the limits to one request, sets the rate limit headers, and returns the
// refusal's message, or "" when the request may go on (its tokens then spent). A refused
// request spends no tokens and takes no place in the windows: the docs are silent on this,
// and it keeps a client that backs off from being locked out by its own retries.
func (s *Server) admit(h http.Header, cost int, search bool) string {
	now := s.now()
	l := &s.limits
	l.recent = trim(l.recent, now.Add(-s.cfg.BurstWindow))
	l.searches = trim(l.searches, now.Add(-s.cfg.BurstWindow))
	if s.cfg.DailyBudget > 0 {
		h.Set("X-Daily-Ratelimit-Token-Limit", strconv.Itoa(s.cfg.DailyBudget))
		if l.spent >= s.cfg.DailyBudget {
			h.Set("X-Daily-Ratelimit-Token-Remaining", "0")
			return msgDaily
		}
	}
	burst := s.cfg.BurstLimit > 0 && len(l.recent) >= s.cfg.BurstLimit
	searchBurst := search && s.cfg.SearchBurstLimit > 0 && len(l.searches) >= s.cfg.SearchBurstLimit
	if !burst && !searchBurst {
		l.recent = append(l.recent, now)
		if search {
			l.searches = append(l.searches, now)
		}
		l.spent += cost
	}
	if s.cfg.BurstLimit > 0 {
		h.Set("X-Ratelimit-Limit", strconv.Itoa(s.cfg.BurstLimit))
		h.Set("X-Ratelimit-Remaining", strconv.Itoa(max(0, s.cfg.BurstLimit-len(l.recent))))
		h.Set("X-Ratelimit-Reset", strconv.Itoa(int(s.cfg.BurstWindow.Round(time.Second)/time.Second)))
	}
	if s.cfg.DailyBudget > 0 {
		h.Set("X-Daily-Ratelimit-Token-Remaining", strconv.Itoa(max(0, s.cfg.DailyBudget-l.spent)))
	}
	if burst || searchBurst {
		return msgBurst
	}
	return ""
}

// trim drops the times before since from the front of an ascending list. The backing array is
// reused, so a window costs at most its limit in memory.
func trim(times []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(since) {
		i++
	}
	if i == 0 {
		return times
	}
	return append(times[:0], times[i:]...)
}
