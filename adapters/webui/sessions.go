package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
)

// session is one signed-in person: who (the token's name and role, never the token) and the
// CSRF token every form of theirs carries.
type session struct {
	name    string
	role    config.Role
	csrf    string
	expires time.Time
	flash   flash // shown once, on the next page
}

// flash is a message about the last action, shown on the page it redirects to.
type flash struct {
	Text  string
	Error bool
}

func (s session) operator() bool { return s.role == config.RoleOperator }

// sessions keeps the sessions in memory: a restart signs everyone out, which is the safe way
// to lose them. The map is keyed by the SHA-256 of the session id, so its lookups' timing says
// nothing about the ids in it.
type sessions struct {
	mu   sync.Mutex
	byID map[[32]byte]*session
	ttl  time.Duration
	now  func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[[32]byte]*session{}, ttl: ttl, now: now}
}

// randomToken is 32 random bytes, URL-safe base64.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// start makes a session for a token's owner and returns its id, the cookie's value.
func (s *sessions) start(name string, role config.Role) (string, session, error) {
	id, err := randomToken()
	if err != nil {
		return "", session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", session{}, err
	}
	now := s.now()
	sess := &session{name: name, role: role, csrf: csrf, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, old := range s.byID { // sessions nobody signed out of would otherwise stay forever
		if !now.Before(old.expires) {
			delete(s.byID, key)
		}
	}
	s.byID[sha256.Sum256([]byte(id))] = sess
	return id, *sess, nil
}

// get returns the live session of an id.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[key]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.byID, key)
		return session{}, false
	}
	return *sess, true
}

// end signs a session out.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(id)))
}

// setFlash leaves a message for the session's next page.
func (s *sessions) setFlash(id string, f flash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.byID[sha256.Sum256([]byte(id))]; ok {
		sess.flash = f
	}
}

// takeFlash returns the session's message and forgets it.
func (s *sessions) takeFlash(id string) flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[sha256.Sum256([]byte(id))]
	if !ok {
		return flash{}
	}
	f := sess.flash
	sess.flash = flash{}
	return f
}
