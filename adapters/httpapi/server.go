// Package httpapi is the ledger's HTTP face: vendor ingest, the read API, health and metrics.
// Handlers authenticate, decode and validate, then call the event log; they hold no state.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// EventLog is what the HTTP layer needs of the event store.
type EventLog interface {
	Append(ctx context.Context, events ...domain.Event) ([]domain.Event, error)
	ReadAll(ctx context.Context, after int64, limit int, f eventstore.Filter) ([]domain.Event, error)
	ReadStream(ctx context.Context, leadID uuid.UUID) ([]domain.Event, error)
	Head(ctx context.Context) (int64, error)
	PositionOf(ctx context.Context, id uuid.UUID) (int64, error)
	RecordRejection(ctx context.Context, r domain.RejectedWebhook) error
	ReadRejections(ctx context.Context, f eventstore.RejectionFilter, limit int) ([]domain.RejectedWebhook, error)
	Rejection(ctx context.Context, id uuid.UUID) (domain.RejectedWebhook, error)
	CountRejections(ctx context.Context, source string) (int, error)
	Erase(ctx context.Context, leadID uuid.UUID, by string) (erasure domain.Event, already bool, err error)
	Ping(ctx context.Context) error
	Instance() string
}

// Config configures a Server.
type Config struct {
	Sources []config.Source
	Tokens  []config.Token
	// Leads is the lead view behind /v1/leads and /v1/status. Required.
	Leads LeadReader
	// Sinks is the registry behind /v1/sinks and /v1/replays; nil serves no sinks API.
	Sinks SinkAdmin
	// Audit serves the checkpoints and proofs; nil serves no audit API.
	Audit *Audit
	// MaxBodyBytes caps an ingest body; larger bodies get 413. Must be positive.
	MaxBodyBytes int64
	// AppendTimeout bounds the wait for a commit, below LeadFloAgent's 5 s deadline. Defaults to 4s.
	AppendTimeout time.Duration
	// ReadWaitTimeout bounds how long a read with min_position waits for the lead view. Defaults to 5s.
	ReadWaitTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is served on /metrics. Defaults to a new registry.
	Registry *prometheus.Registry
	// RateLimits bound each source's webhooks and each token's API calls; past them, 429.
	RateLimits config.RateLimits
	// Metrics says where /metrics is served and who may read it. The zero value serves it on
	// the main handler to loopback clients only.
	Metrics MetricsAccess
	// OutageReportInterval is how often, at most, a database outage is logged while it lasts.
	// Defaults to 10s.
	OutageReportInterval time.Duration
	// Now defaults to time.Now; tests set it to check timestamp tolerance.
	Now func() time.Time
	// StreamPoll is how often an open event stream looks for new events. Defaults to 200ms.
	StreamPoll time.Duration
	// StreamKeepAlive is how long an event stream may stay silent before it sends a comment,
	// which keeps proxies from closing it. Defaults to 15s.
	StreamKeepAlive time.Duration
}

func (c *Config) setDefaults() {
	if c.AppendTimeout == 0 {
		c.AppendTimeout = 4 * time.Second
	}
	if c.ReadWaitTimeout == 0 {
		c.ReadWaitTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OutageReportInterval == 0 {
		c.OutageReportInterval = 10 * time.Second
	}
	if c.StreamPoll == 0 {
		c.StreamPoll = 200 * time.Millisecond
	}
	if c.StreamKeepAlive == 0 {
		c.StreamKeepAlive = 15 * time.Second
	}
}

// Server serves the ledger's HTTP API.
type Server struct {
	cfg     Config
	log     EventLog
	sources map[string]config.Source
	metrics *metrics
	limits  *rateLimits
	outage  *outage
	handler http.Handler
	// streamsClosing is closed by CloseStreams: every event stream then ends.
	streamsClosing chan struct{}
	closeStreams   sync.Once
}

// New builds the server and its routes.
func New(cfg Config, log EventLog) (*Server, error) {
	cfg.setDefaults()
	if log == nil || cfg.Leads == nil {
		return nil, errors.New("httpapi: event log and lead view are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		return nil, fmt.Errorf("httpapi: max body bytes must be positive, got %d", cfg.MaxBodyBytes)
	}
	s := &Server{cfg: cfg, log: log, sources: map[string]config.Source{}, streamsClosing: make(chan struct{}),
		outage: &outage{log: cfg.Logger, now: cfg.Now, interval: cfg.OutageReportInterval}}
	for _, src := range cfg.Sources {
		s.sources[src.ID] = src
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if s.limits, err = newRateLimits(cfg.Registry, cfg.RateLimits, cfg.Sources, cfg.Tokens); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.log.Ping(r.Context()); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		writeError(w, http.StatusServiceUnavailable, "Database unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
