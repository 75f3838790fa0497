package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/projections"
)

// loadConfig reads --config FILE, or LEDGER_CONFIG, then the environment overrides.
func loadConfig(args []string, getenv func(string) string) (config.Config, error) {
	fs := flag.NewFlagSet("leadledger", flag.ContinueOnError)
	path := fs.String("config", getenv("LEDGER_CONFIG"), "YAML configuration file (or LEDGER_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// openStore opens the log and brings its schema up to date. A PostgreSQL that cannot be used
// yet is tried again, with back-off, for up to cfg.DatabaseWait: the ledger and its database
// may start in any order (containers, a reboot). SQLite is a file: it is tried once.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*eventstore.Store, error) {
	database := config.RedactDatabase(cfg.Database)
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		store, err := openAndMigrate(ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", database, err)
		}
		return store, nil
	}
	start, delay := time.Now(), 250*time.Millisecond
	for attempt := 1; ; attempt++ {
		store, err := openAndMigrate(ctx, cfg, log)
		if err == nil {
			if attempt > 1 {
				log.Info("database ready", "database", database, "attempts", attempt, "waited", time.Since(start).Round(time.Millisecond).String())
			}
			return store, nil
		}
		left := cfg.DatabaseWait - time.Since(start)
		switch {
		case cfg.DatabaseWait == 0:
			return nil, fmt.Errorf("database %s: %w", database, err)
		case left <= 0:
			return nil, fmt.Errorf("database %s not ready after waiting %s (database_wait, LEDGER_DATABASE_WAIT): %w", database, cfg.DatabaseWait, err)
		}
		delay = min(delay, left)
		log.Warn("database not ready; trying again", "database", database, "attempt", attempt,
			"retry_in", delay.Round(time.Millisecond).String(), "wait_left", left.Round(time.Millisecond).String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped while waiting for database %s: %w", database, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// openAndMigrate is one try of openStore. Its error never shows a credential of the database
// URL, even where a driver quotes the URL it was given.
func openAndMigrate(ctx context.Context, cfg config.Config, log *slog.Logger) (*eventstore.Store, error) {
	store, err := eventstore.Open(ctx, eventstore.Config{URL: cfg.Database, Logger: log})
	if err != nil {
		return nil, redactedError{err, cfg.Database}
	}
	err = store.Migrate(ctx)
	if err == nil {
		err = projections.MigrateLeadView(ctx, store)
	}
	if err != nil {
		_ = store.Close()
		return nil, redactedError{err, cfg.Database}
	}
	return store, nil
}

// redactedError shows an error with the database's credentials masked; errors.Is still sees
// the chain.
type redactedError struct {
	err      error
	database string
}

func (e redactedError) Error() string { return config.HideDatabaseSecrets(e.err.Error(), e.database) }
func (e redactedError) Unwrap() error { return e.err }

func migrate(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, newLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	return store.Close()
}

func rebuild(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	view, err := projections.NewLeadView(ctx, store, log)
	if err != nil {
		return err
	}
	stats, err := view.Rebuild(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "lead view rebuilt: %d events, %d leads, up to position %d, in %s (%.0f events/s)\n",
		stats.Events, stats.Leads, stats.Position, stats.Took.Round(time.Millisecond), float64(stats.Events)/stats.Took.Seconds())
	return err
}

func serve(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	if getenv("GOGC") == "" {
		// The live heap is a few MB; collecting four times less often cut ingest CPU enough
		// to raise measured throughput by a fifth (see scripts/bench-ingest.sh).
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		// ...but folding a backlog into the lead view grows the heap for a while, and GOGC 400
		// then took RSS to 260 MB; a soft limit makes the collector work harder only there
		// (measured: 115 MB peak for a 100k-event catch-up and replay).
		debug.SetMemoryLimit(100 << 20)
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while waiting for the database")
			return nil
		}
		return err
	}
	defer store.Close() // after the HTTP server has drained: every acknowledged append is committed

	view, err := projections.NewLeadView(ctx, store, log)
	if err != nil {
		return err
	}
	registry, err := sinks.NewRegistry(ctx, store)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if cfg.RunProjections {
		delivery, err := sinks.NewManager(sinks.Config{Logger: log, Registerer: reg}, store, registry)
		if err != nil {
			return err
		}
		// The log's readers stop after the HTTP server has drained, and before the store closes.
		readersCtx, stopReaders := context.WithCancel(context.Background())
		var readers sync.WaitGroup
		readers.Go(func() { keepRunning(readersCtx, log, "lead view", view.Run) })
		readers.Go(func() { keepRunning(readersCtx, log, "sink delivery", delivery.Run) })
		defer func() { stopReaders(); readers.Wait() }()
	}

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "leadledger_projection_failed_events_total",
			Help: "Events the lead view recorded as failed to apply.",
		}, func() float64 { return float64(view.Failed()) }))
	api, err := httpapi.New(httpapi.Config{
		Sources: cfg.Sources, Tokens: cfg.Tokens, Leads: view, Sinks: registry, MaxBodyBytes: cfg.MaxBodyBytes, Logger: log, Registry: reg,
		Metrics: httpapi.MetricsAccess{Separate: cfg.Metrics.Listen != "", Tokens: cfg.Metrics.Tokens},
	}, store)
	if err != nil {
		return err
	}
	addrs, handlers := []string{cfg.Listen}, []http.Handler{api}
	if cfg.Metrics.Listen != "" {
		addrs, handlers = append(addrs, cfg.Metrics.Listen), append(handlers, api.MetricsHandler())
	}
	listeners, err := listenAll(addrs)
	if err != nil {
		return err
	}
	errc := make(chan error, len(listeners))
	servers := make([]*http.Server, len(listeners))
	for i, ln := range listeners {
		servers[i] = newHTTPServer(handlers[i])
		go func() { errc <- servers[i].Serve(ln) }()
	}
	attrs := []any{"addr", listeners[0].Addr().String()}
	if len(listeners) > 1 {
		attrs = append(attrs, "metrics_addr", listeners[1].Addr().String())
	}
	log.Info("leadledger listening", append(attrs, "database", store.Dialect(), "version", version,
		"projections", cfg.RunProjections, "config", cfg)...)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("drain: %w", err)
		}
	}
	log.Info("stopped")
	return nil
}

// listenAll takes every address before any is served, so that a busy one stops start-up cleanly.
func listenAll(addrs []string) ([]net.Listener, error) {
	var listeners []net.Listener
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		listeners = append(listeners, ln)
	}
	return listeners, nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

// keepRunning runs a reader of the log until ctx is done, and starts it again a second after it
// stops early (say the database was unreachable), so an outage never ends it for good.
func keepRunning(ctx context.Context, log *slog.Logger, name string, run func(context.Context) error) {
	for ctx.Err() == nil {
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Error("log reader stopped; starting it again", "reader", name, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
