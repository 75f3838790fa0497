// Package salesforce is an in-memory Salesforce org holding Leads, for tests, benchmarks and
// demos. It answers the REST shapes of the real API for the few routes a lead sink uses:
//
//	POST  /services/oauth2/token                                    (client_credentials)
//	PATCH /services/data/{v}/sobjects/Lead/{field}/{value}          (upsert one)
//	PATCH /services/data/{v}/composite/sobjects/Lead/{field}        (sObject Collections upsert)
//	GET   /services/data/{v}/sobjects/Lead/{field}/{value}          (read back)
//
// Leads are indexed by every external id field and by Email, so a request costs the same with
// ten or a hundred thousand Leads. Import it under another name than the client's, e.g.
//
//	import fakesalesforce "github.com/leadledger/leadledger/scripts/fakecrm/salesforce"
package salesforce

import (
	"net/http"
	"strings"
	"sync"
)

// Config sets up the fake org.
type Config struct {
	// ClientID and ClientSecret are the connected app's credentials that POST
	// /services/oauth2/token accepts.
	ClientID, ClientSecret string
	// ExternalIDFields are the Lead fields marked External ID (unique, case-insensitive).
	// Defaults to {"Ledger_Key__c"}.
	ExternalIDFields []string
	// DailyLimit is the org's daily API request limit; 0 turns it off. Past it every data
	// request is refused with 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.".
	DailyLimit int
	// DuplicateRule turns on an alerting duplicate rule on Lead Email: a new Lead whose Email
	// equals an existing Lead's (case-insensitively) fails with DUPLICATES_DETECTED unless the
	// request carries Sforce-Duplicate-Rule-Header allowSave=true.
	DuplicateRule bool
}

// Lead is one stored Lead: its 18-character Salesforce id and its fields (Id not among them).
type Lead struct {
	ID     string
	Fields map[string]string
}

// Server is the fake org, an http.Handler. The instance_url it hands out is the scheme and
// Host of the token request, so it works behind httptest.Server or any listener.
type Server struct {
	cfg Config

	mu            sync.Mutex
	store         *store
	tokens        map[string]bool
	tokenRequests int
	calls         int // data requests that passed authentication
	used          int // of those, the ones counted against DailyLimit
	reject        func(fields map[string]string) (code, message string)
}

// New returns an empty org.
func New(cfg Config) *Server {
	if len(cfg.ExternalIDFields) == 0 {
		cfg.ExternalIDFields = []string{"Ledger_Key__c"}
	}
	cfg.ExternalIDFields = append([]string(nil), cfg.ExternalIDFields...)
	return &Server{cfg: cfg, store: newStore(cfg.ExternalIDFields), tokens: map[string]bool{}}
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/services/oauth2/token" {
		s.serveToken(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/services/data/") {
		writeErrors(w, http.StatusNotFound, apiError{"NOT_FOUND", "The requested resource does not exist"})
		return
	}
	if !s.admit(w, r) {
		return
	}
	s.serveData(w, r)
}

// Leads returns a copy of every Lead, oldest first.
func (s *Server) Leads() []Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Lead, 0, len(s.store.order))
	for _, id := range s.store.order {
		out = append(out, s.store.leads[id].copy())
	}
	return out
}

// Lead returns the first Lead whose field equals value: by index for Id, the external id
// fields (case-insensitively, as Salesforce matches them) and Email, by a scan otherwise.
func (s *Server) Lead(field, value string) (Lead, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.store.find(s.store.canonical(field), value)
	if len(ids) == 0 {
		return Lead{}, false
	}
	return s.store.leads[ids[0]].copy(), true
}

// ExpireTokens invalidates every token issued so far: they now get 401 INVALID_SESSION_ID.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
}

// TokenRequests is the number of requests to the token endpoint, refused ones included.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// Calls is the number of data API requests that passed authentication, those refused for the
// daily limit included: what a benchmark counts as API calls spent.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// SetReject installs a test hook called with each record's fields as sent (external id
// included) before it is saved; a non-empty code rejects that record with that statusCode and
// message, as a validation rule or trigger would. nil removes the hook.
func (s *Server) SetReject(reject func(fields map[string]string) (code, message string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = reject
}

// InsertDuplicateKey stores Leads with field = value until two of them match it, bypassing
// every check, so the multiple-matches path (300, DUPLICATE_EXTERNAL_ID) can be tested: an
// external id that is not marked Unique can hold duplicates in a real org.
func (s *Server) InsertDuplicateKey(field, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	field = s.store.canonical(field)
	for len(s.store.find(field, value)) < 2 {
		s.store.create(map[string]string{field: value, "LastName": "Duplicate", "Company": "Duplicate"})
	}
}
