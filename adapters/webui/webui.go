// Package webui is the ledger's web UI at /ui, for auditors and operators: leads and their
// history with each event's proof, the event log, and the sinks. Pages are rendered on the
// server from embedded templates; there is no JavaScript. People sign in with the same bearer
// tokens as the API and get a server-side session; the token itself is never kept in a
// cookie, a URL or a log.
package webui

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/projections"
)

// EventLog is what the UI needs of the event store (an *eventstore.Store).
type EventLog interface {
	ReadAll(ctx context.Context, after int64, limit int, f eventstore.Filter) ([]domain.Event, error)
	ReadStream(ctx context.Context, leadID uuid.UUID) ([]domain.Event, error)
	Head(ctx context.Context) (int64, error)
	// HashUpTo is the hash before an event, to recompute the event's own: the check left to an
	// erased event, whose body is gone.
	HashUpTo(ctx context.Context, position int64) (string, error)
	// Erase crypto-shreds a lead's personal data (operators, from the lead's page).
	Erase(ctx context.Context, leadID uuid.UUID, by string) (erasure domain.Event, already bool, err error)
}

// LeadReader is what the UI reads of the lead view.
type LeadReader interface {
	Lead(ctx context.Context, id uuid.UUID) (domain.Lead, error)
	Leads(ctx context.Context, f projections.LeadFilter) ([]domain.Lead, string, error)
	Outcomes(ctx context.Context, leadID uuid.UUID) (projections.Outcomes, error)
	Position(ctx context.Context) (int64, error)
}

// SinkAdmin is what the UI needs of the sinks' registry: the same calls the admin API makes.
type SinkAdmin interface {
	Create(ctx context.Context, n sinks.NewSink) (sinks.Sink, error)
	Sinks(ctx context.Context) ([]sinks.Sink, error)
	Sink(ctx context.Context, id uuid.UUID) (sinks.Sink, error)
	Pause(ctx context.Context, id uuid.UUID) (sinks.Sink, error)
	Resume(ctx context.Context, id uuid.UUID) (sinks.Sink, error)
	StartReplay(ctx context.Context, sinkID uuid.UUID, n sinks.NewReplay) (sinks.Replay, error)
	Replays(ctx context.Context, sinkID uuid.UUID) ([]sinks.Replay, error)
	RetryFailures(ctx context.Context, sinkID uuid.UUID) (int64, error)
	Destinations(ctx context.Context, leadID uuid.UUID) ([]sinks.Destination, error)
}

// Proofs is what the UI needs of the log's Merkle tree (an *audit.Tree) to check each event
// against the latest signed checkpoint.
type Proofs interface {
	Latest(ctx context.Context) (audit.Checkpoint, error)
	VerifierKeys(ctx context.Context) (note.Verifiers, error)
	Leaf(ctx context.Context, position int64) (uint64, error)
	Inclusion(ctx context.Context, leaf, size uint64) ([][]byte, error)
	Root(ctx context.Context, size uint64) ([]byte, error)
}

// Config configures the UI.
type Config struct {
	// Tokens are the API's bearer tokens; a person signs in with one. None: nobody can.
	Tokens []config.Token
	// Leads is the lead view. Required.
	Leads LeadReader
	// Sinks is the sinks' registry; nil shows no sinks.
	Sinks SinkAdmin
	// Proofs is the log's Merkle tree; nil shows no proofs.
	Proofs Proofs
	// Sources are the configured source ids, offered in the leads search.
	Sources []string
	// SessionTTL is how long a sign-in lasts. Defaults to 12h.
	SessionTTL time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now; tests move it to expire sessions.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports what is missing.
func (c Config) Validate() error {
	var errs []error
	if c.Leads == nil {
		errs = append(errs, errors.New("webui: the lead view is required"))
	}
	if c.SessionTTL < 0 {
		errs = append(errs, fmt.Errorf("webui: session TTL must not be negative, got %s", c.SessionTTL))
	}
	return errors.Join(errs...)
}

// Handler serves the UI under /ui.
type Handler struct {
	cfg      Config
	log      EventLog
	sessions *sessions
	signin   *signinGuard
	pages    *pages
	handler  http.Handler
}

// New builds the UI over the event log.
func New(cfg Config, log EventLog) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("webui: the event log is required")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("webui: sign-in form key: %w", err)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: log, sessions: newSessions(cfg.SessionTTL, cfg.Now),
		signin: &signinGuard{key: key}, pages: p}
	h.handler = h.routes()
	return h, nil
}

// ServeHTTP serves /ui and everything under it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

func (h *Handler) routes() http.Handler {
	mux := http.NewServeMux()
	home := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/leads", http.StatusSeeOther)
	})
	mux.Handle("GET /ui", home)
	mux.Handle("GET /ui/{$}", home)
	mux.HandleFunc("GET /ui/static/style.css", serveStyle)
	mux.HandleFunc("GET /ui/signin", h.signinPage)
	mux.HandleFunc("POST /ui/signin", h.signIn)
	mux.Handle("POST /ui/signout", h.action(config.RoleAuditor, h.signOut))

	mux.Handle("GET /ui/leads", h.page(h.leadsPage))
	mux.Handle("GET /ui/leads/{id}", h.page(h.leadPage))
	mux.Handle("POST /ui/leads/{id}/erase", h.action(config.RoleOperator, h.eraseLead))
	mux.Handle("GET /ui/events", h.page(h.eventsPage))
	if h.cfg.Sinks != nil {
		mux.Handle("GET /ui/sinks", h.page(h.sinksPage))
		mux.Handle("POST /ui/sinks", h.action(config.RoleOperator, h.createSink))
		mux.Handle("POST /ui/sinks/{id}/{act}", h.action(config.RoleOperator, h.sinkAction))
	}
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "There is no such page.")
	})
	return h.accessLog(securityHeaders(cleanPathsOnly(mux, h)))
}
