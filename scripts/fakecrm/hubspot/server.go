// Package hubspot is an in-memory HubSpot: the part of the CRM v3 contacts API the ledger's
// HubSpot client uses, with HubSpot's request and reply shapes, its bearer-token check, its
// rolling and daily rate limits and its refusals (an invalid email, a second contact with an
// existing email, an idProperty that is not unique). Tests, benchmarks and the demo run
// against it instead of a HubSpot account. Import it under another name, e.g. fakehubspot,
// beside the client package of the same name.
//
// Routes:
//
//	POST  /crm/v3/objects/contacts/batch/upsert   create or update ≤ 100 contacts by idProperty
//	POST  /crm/v3/objects/contacts                create one contact
//	PATCH /crm/v3/objects/contacts/{id}           update one contact (?idProperty= to address it by a unique property)
//	GET   /crm/v3/objects/contacts/{id}           read one contact back (?idProperty=, ?properties=)
//	GET   /crm/v3/objects/contacts                page through contacts (?limit=, ?after=, ?properties=)
//
// Where HubSpot's documentation is silent the fake picks the most plausible behaviour and says
// so where it does.
package hubspot

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config sets up a Server.
type Config struct {
	// Token is the private-app token a request must carry as "Authorization: Bearer <token>".
	// "" accepts any request, with or without a token.
	Token string
	// UniqueProperties are the contact properties whose values are unique across contacts and
	// that may name a batch upsert's idProperty. Defaults to {"ledger_key"}; "email" is always
	// unique and usable.
	UniqueProperties []string
	// RateLimit is how many requests are answered per rolling RateWindow (HubSpot: 100 or 190
	// per 10 s); the next is refused with 429 TEN_SECONDLY_ROLLING. 0 turns the limit off.
	// RateWindow defaults to 10 s.
	RateLimit  int
	RateWindow time.Duration
	// DailyLimit is how many requests are answered until ResetDaily; then every request is
	// refused with 429 DAILY. 0 turns the limit off. (HubSpot resets at midnight in the
	// account's time zone; the fake only when told, so a test decides when the day ends.)
	DailyLimit int
}

// Contact is one stored contact. Properties holds what was written, email lowercased;
// HubSpot's own hs_object_id, createdate and lastmodifieddate are added to replies only.
type Contact struct {
	ID         string
	Properties map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Server is the fake HubSpot; it implements http.Handler and is safe for concurrent use.
type Server struct {
	cfg    Config
	token  []byte
	unique map[string]bool
	mux    *http.ServeMux

	mu        sync.Mutex
	contacts  []*Contact // in creation order, which is also the list order
	byID      map[string]*Contact
	index     map[string]map[string]*Contact // unique property → value (email lowercased) → contact
	nextID    int
	reject    func(properties map[string]string) string
	calls     int
	throttled int
	window    []time.Time // times of the requests admitted within the rolling window, oldest first
	daily     int
}

// firstID is the id the first contact gets; HubSpot contact ids are decimal strings.
const firstID = 1001

// New returns an empty Server.
func New(cfg Config) *Server {
	if cfg.UniqueProperties == nil {
		cfg.UniqueProperties = []string{"ledger_key"}
	}
	if cfg.RateLimit > 0 && cfg.RateWindow <= 0 {
		cfg.RateWindow = 10 * time.Second
	}
	s := &Server{
		cfg:    cfg,
		token:  []byte(cfg.Token),
		unique: map[string]bool{"email": true},
		byID:   map[string]*Contact{},
		index:  map[string]map[string]*Contact{},
		nextID: firstID,
	}
	for _, p := range cfg.UniqueProperties {
		s.unique[p] = true
	}
	for p := range s.unique {
		s.index[p] = map[string]*Contact{}
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /crm/v3/objects/contacts/batch/upsert", s.serveBatchUpsert)
	s.mux.HandleFunc("POST /crm/v3/objects/contacts", s.serveCreate)
	s.mux.HandleFunc("PATCH /crm/v3/objects/contacts/{id}", s.serveUpdate)
	s.mux.HandleFunc("GET /crm/v3/objects/contacts/{id}", s.serveRead)
	s.mux.HandleFunc("GET /crm/v3/objects/contacts", s.serveList)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, message: "resource not found"})
	})
	return s
}

// ServeHTTP answers one request: the token is checked first, then the rate limits (so a 429
// is answered before anything is written), then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	authorized := s.authorized(r)
	s.mu.Lock()
	s.calls++
	var refusal *apiError
	if authorized {
		refusal = s.admit(time.Now())
	}
	s.mu.Unlock()
	switch {
	case !authorized:
		// HubSpot's wording for a missing and for an unknown token alike.
		w.Header().Set("X-HubSpot-Auth-Failure", "401 Unauthorized")
		writeError(w, &apiError{
			status:   http.StatusUnauthorized,
			category: "INVALID_AUTHENTICATION",
			message: "Authentication credentials not found. This API supports OAuth 2.0 authentication " +
				"and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
		})
	case refusal != nil:
		writeError(w, refusal)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	if len(s.token) == 0 {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), s.token) == 1
}

// admit counts a request against the limits, or returns the 429 refusing it. A refused
// request does not use up the window, so a client that waits gets through. s.mu is held.
func (s *Server) admit(now time.Time) *apiError {
	if s.cfg.DailyLimit > 0 && s.daily >= s.cfg.DailyLimit {
		s.throttled++
		return rateLimited("DAILY", "You have reached your daily limit.")
	}
	if s.cfg.RateLimit > 0 {
		cut := now.Add(-s.cfg.RateWindow)
		n := 0
		for n < len(s.window) && !s.window[n].After(cut) {
			n++
		}
		s.window = s.window[n:]
		if len(s.window) >= s.cfg.RateLimit {
			s.throttled++
			return rateLimited("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
		}
		s.window = append(s.window, now)
	}
	s.daily++
	return nil
}

// rateLimited is HubSpot's 429 body: errorType and policyName instead of a category.
func rateLimited(policy, message string) *apiError {
	return &apiError{status: http.StatusTooManyRequests, errorType: "RATE_LIMIT", policy: policy, message: message}
}

// Calls is the number of requests answered, whatever their status.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Throttled is the number of requests refused with 429.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// ResetDaily starts a new day: the daily limit counts from zero again.
func (s *Server) ResetDaily() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daily = 0
}

// SetReject makes every write (upsert input, create, update) whose properties reject returns a
// non-empty message for be refused as HubSpot refuses an invalid property value: 400
// VALIDATION_ERROR naming the message. nil stops rejecting. reject is called with the
// server's lock held, so it must not call the Server.
func (s *Server) SetReject(reject func(properties map[string]string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = reject
}

// Contacts returns a copy of every contact, oldest first.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, len(s.contacts))
	for i, c := range s.contacts {
		out[i] = c.clone()
	}
	return out
}

// Contact finds the contact whose idProperty has value: a unique property (email compared
// without case), "hs_object_id" for the contact id, or any other property (by a scan).
func (s *Server) Contact(idProperty, value string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.lookup(idProperty, value); c != nil {
		return c.clone(), true
	}
	if s.unique[idProperty] || idProperty == "hs_object_id" {
		return Contact{}, false
	}
	for _, c := range s.contacts {
		if c.Properties[idProperty] == value {
			return c.clone(), true
		}
	}
	return Contact{}, false
}

// Seed creates a contact as POST /crm/v3/objects/contacts would, without counting a call: a
// contact that was in HubSpot before the ledger wrote to it. The error is HubSpot's refusal.
func (s *Server) Seed(properties map[string]string) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.create(properties, time.Now())
	if err != nil {
		return Contact{}, err
	}
	return c.clone(), nil
}

func (c *Contact) clone() Contact {
	out := *c
	out.Properties = make(map[string]string, len(c.Properties))
	for k, v := range c.Properties {
		out.Properties[k] = v
	}
	return out
}
