// Package pipedrive is an in-memory Pipedrive for tests, benchmarks and demos: the persons API
// v2 (search by exact email, create, read, update, delete) and the leads API v1 (list by
// person, create, read, update, delete), answering in Pipedrive's own shapes, with its
// authentication (x-api-token header or api_token query), its rate limits (a burst limit per
// rolling window, a lower one for search, a daily token budget; 429 without Retry-After) and
// its error replies ({"success":false,"error","error_info","data":null,"additional_data":null}).
//
// Import it under another name, as the client package has the same one:
//
//	import fakepipedrive "github.com/leadledger/leadledger/scripts/fakecrm/pipedrive"
//
// Every lookup goes through a map (persons by id, by lowercased email; leads by id, by
// person), so a benchmark with many thousands of persons costs no scan per request. One fake is
// one Pipedrive company with one API token: its limits are not kept per token.
package pipedrive

import (
	"net/http"
	"sort"
	"sync"
	"time"
)

// Config is the fake's behaviour. The zero Config accepts any token and never throttles.
type Config struct {
	// Token is the API token requests must carry (x-api-token header or api_token query);
	// "" accepts any, or none.
	Token string
	// BurstLimit is how many requests a rolling BurstWindow accepts before answering 429, as
	// Pipedrive's burst limit (20 per 2 s on its lowest plan). 0 turns it off.
	BurstLimit int
	// BurstWindow is the rolling window of BurstLimit and SearchBurstLimit. Defaults to 2 s.
	BurstWindow time.Duration
	// SearchBurstLimit is the search endpoint's own, lower burst limit (Pipedrive: 10 per
	// 2 s on every plan). 0 turns it off.
	SearchBurstLimit int
	// DailyBudget is the day's API token budget. Each request spends its endpoint's token
	// cost, as Pipedrive's API reference lists it (search 20, create or update a person 5,
	// read one 1, list leads 20, create or update a lead 10, read one 2); once spent, every
	// request is answered 429 until ResetDaily. 0 turns it off.
	DailyBudget int
}

// Person is a person as the fake holds it.
type Person struct {
	ID           int
	Name         string
	Emails       []string
	Phones       []string
	CustomFields map[string]any
}

// Lead is a lead as the fake holds it.
type Lead struct {
	ID       string // a UUID, as Pipedrive's lead ids are
	Title    string
	PersonID int
	// OriginID is the lead's origin_id: what the creating integration put there.
	OriginID string
	Archived bool
}

// Server is the fake Pipedrive: an http.Handler, safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux
	now func() time.Time // replaced by tests that move the clock

	mu        sync.Mutex
	persons   map[int]*person
	byEmail   map[string][]int // lowercased email → ids of the persons having it, ascending
	leads     map[string]*lead
	byPerson  map[int][]string // person id → its leads' ids, oldest first
	nextID    int              // next person id
	leadSeq   int              // orders leads by creation
	limits    limiter
	calls     int
	throttled int
	reject    func(person map[string]any) string
}

// New returns an empty fake Pipedrive.
func New(cfg Config) *Server {
	if cfg.BurstWindow <= 0 {
		cfg.BurstWindow = 2 * time.Second
	}
	s := &Server{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		now:      time.Now,
		persons:  map[int]*person{},
		byEmail:  map[string][]int{},
		leads:    map[string]*lead{},
		byPerson: map[int][]string{},
		nextID:   1,
	}
	s.routes()
	return s
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Persons returns every person, by ascending id.
func (s *Server) Persons() []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Person, 0, len(s.persons))
	for _, p := range s.persons {
		out = append(out, p.export())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Leads returns every lead, archived ones included, oldest first.
func (s *Server) Leads() []Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*lead, 0, len(s.leads))
	for _, l := range s.leads {
		all = append(all, l)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]Lead, len(all))
	for i, l := range all {
		out[i] = l.export()
	}
	return out
}

// AddPerson stores a person as if it had been in Pipedrive before (no call, no token spent)
// and returns it. An empty email gives a person without one.
func (s *Server) AddPerson(name, email string) Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &person{name: name, custom: map[string]any{}}
	if email != "" {
		p.emails = []contact{{Value: email, Primary: true, Label: "work"}}
	}
	s.insertPerson(p)
	return p.export()
}

// Calls returns how many requests the fake answered, refused ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Throttled returns how many requests were answered 429.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// TokensSpent returns the API tokens spent since New or the last ResetDaily, counted with
// Pipedrive's token costs (see Config.DailyBudget) whether a budget is set or not.
func (s *Server) TokensSpent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits.spent
}

// ResetDaily starts a new day: the token budget is whole again, as it is at midnight, server
// time, in Pipedrive.
func (s *Server) ResetDaily() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.spent = 0
}

// SetReject installs a test hook: it sees the JSON body of every person create or update, and
// a non-empty answer rejects that write with a 400 carrying the answer as Pipedrive's error
// message. nil removes the hook.
func (s *Server) SetReject(fn func(person map[string]any) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = fn
}
