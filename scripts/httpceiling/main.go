// Command httpceiling is the ingest path's HTTP-only ceiling for benchmarks: the ledger's real
// HTTP stack (httpapi.New: the router, the access log, source authentication, vendor parsing and
// the ingest handler) over an in-memory event log whose Append numbers the events with an atomic
// counter and acknowledges at once. What a benchmark gets from it is what the ledger could reach
// with a database that cost nothing. One WhatConverts source, id "whatconverts", url_token
// authentication. It listens on loopback only and stops after -d, or on SIGTERM.
//
//	go run ./scripts/httpceiling -listen 127.0.0.1:18097 -token bench-wc-token
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/projections"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18097", "loopback address to listen on")
	token := flag.String("token", "bench-wc-token", "the WhatConverts source's url_token")
	life := flag.Duration("d", 30*time.Minute, "stop after this long")
	flag.Parse()
	if !strings.HasPrefix(*listen, "127.") && !strings.HasPrefix(*listen, "localhost:") {
		fmt.Fprintln(os.Stderr, "httpceiling: listen on a loopback address only")
		os.Exit(2)
	}
	api, err := httpapi.New(httpapi.Config{
		Sources: []config.Source{{ID: "whatconverts", Vendor: "whatconverts",
			Auth: config.Auth{Type: config.AuthURLToken, Secrets: []string{*token}}}},
		Leads:        noLeads{},
		MaxBodyBytes: 1 << 20,
		// As the ledger logs at log_level: warn, which every bench script uses.
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, &memLog{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpceiling:", err)
		os.Exit(1)
	}
	// The ledger's own server settings (cmd/leadledger newHTTPServer).
	srv := &http.Server{Addr: *listen, Handler: api, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *life)
	defer cancel()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "httpceiling:", err)
		os.Exit(1)
	}
}

var errNotKept = errors.New("httpceiling: the in-memory log keeps nothing")

// memLog acknowledges every append at once and keeps nothing.
type memLog struct{ head atomic.Int64 }

func (l *memLog) Append(_ context.Context, events ...domain.Event) ([]domain.Event, error) {
	out := make([]domain.Event, len(events))
	for i, e := range events {
		e.Position = l.head.Add(1)
		e.Version = 1
		out[i] = e
	}
	return out, nil
}

func (l *memLog) Head(context.Context) (int64, error) { return l.head.Load(), nil }
func (l *memLog) Ping(context.Context) error          { return nil }
func (l *memLog) Instance() string                    { return "httpceiling" }
func (l *memLog) ReadStream(context.Context, uuid.UUID) ([]domain.Event, error) {
	return nil, nil
}
func (l *memLog) ReadAll(context.Context, int64, int, eventstore.Filter) ([]domain.Event, error) {
	return nil, nil
}
func (l *memLog) PositionOf(context.Context, uuid.UUID) (int64, error) { return 0, errNotKept }
func (l *memLog) RecordRejection(context.Context, domain.RejectedWebhook) error {
	return nil
}
func (l *memLog) ReadRejections(context.Context, eventstore.RejectionFilter, int) ([]domain.RejectedWebhook, error) {
	return nil, nil
}
func (l *memLog) Rejection(context.Context, uuid.UUID) (domain.RejectedWebhook, error) {
	return domain.RejectedWebhook{}, errNotKept
}
func (l *memLog) CountRejections(context.Context, string) (int, error) { return 0, nil }
func (l *memLog) Erase(context.Context, uuid.UUID, string) (domain.Event, bool, error) {
	return domain.Event{}, false, errNotKept
}

// noLeads is an empty lead view.
type noLeads struct{}

func (noLeads) Lead(context.Context, uuid.UUID) (domain.Lead, error) {
	return domain.Lead{}, errNotKept
}
func (noLeads) Leads(context.Context, projections.LeadFilter) ([]domain.Lead, string, error) {
	return nil, "", nil
}
func (noLeads) Outcomes(context.Context, uuid.UUID) (projections.Outcomes, error) {
	return projections.Outcomes{}, nil
}
func (noLeads) Position(context.Context) (int64, error)             { return 0, nil }
func (noLeads) WaitFor(context.Context, int64, time.Duration) error { return nil }
func (noLeads) FailedEvents(context.Context) (int64, error)         { return 0, nil }
func (noLeads) Holder(context.Context) (projections.Holder, bool, error) {
	return projections.Holder{}, false, nil
}
func (noLeads) Rebuild(context.Context) (projections.RebuildStats, error) {
	return projections.RebuildStats{}, errNotKept
}
