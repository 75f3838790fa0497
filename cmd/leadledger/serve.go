package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/adapters/webui"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/projections"
)

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
	registry, err := sinks.NewRegistry(ctx, store, sinks.AllowPrivateURLs(cfg.AllowPrivateSinkURLs))
	if err != nil {
		return err
	}
	keyring, err := masterKeyring(cfg, log)
	if err != nil {
		return err
	}
	if n, err := registry.UseKeyring(ctx, keyring); err != nil {
		return err
	} else if n > 0 {
		log.Info("sealed the credentials of sinks stored in plain text", "sinks", n, "key", keyring.KeyID())
	}
	auditing, err := openAudit(ctx, cfg, store, keyring, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if err := store.RegisterMetrics(reg); err != nil {
		return err
	}
	reg.MustRegister(newProgressCollector(store, view, auditing.Tree))
	if cfg.RunProjections {
		delivery, err := sinks.NewManager(sinks.Config{Logger: log, Registerer: reg, Leads: view}, store, registry)
		if err != nil {
			return err
		}
		// The log's readers stop after the HTTP server has drained, and before the store closes.
		readersCtx, stopReaders := context.WithCancel(context.Background())
		var readers sync.WaitGroup
		readers.Go(func() { keepRunning(readersCtx, log, "lead view", view.Run) })
		readers.Go(func() { keepRunning(readersCtx, log, "sink delivery", delivery.Run) })
		checkpoints := &audit.Checkpointer{Tree: auditing.Tree, Signer: auditing.Signer, Every: cfg.CheckpointInterval, Log: log}
		readers.Go(func() { checkpoints.Run(readersCtx) })
		defer func() { stopReaders(); readers.Wait() }()
	}

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "leadledger_projection_failed_events_total",
			Help: "Events the lead view recorded as failed to apply.",
		}, func() float64 { return float64(view.Failed()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "leadledger_projection_catchup_chunks_total",
			Help: "Chunks the lead view folded while far behind the log (20,000 events each on PostgreSQL).",
		}, func() float64 { return float64(view.CatchUpChunks()) }))
	api, err := httpapi.New(httpapi.Config{
		Sources: cfg.Sources, Tokens: cfg.Tokens, Leads: view, Sinks: registry, Audit: auditing, MaxBodyBytes: cfg.MaxBodyBytes, Logger: log, Registry: reg,
		Metrics:    httpapi.MetricsAccess{Separate: cfg.Metrics.Listen != "", Tokens: cfg.Metrics.Tokens},
		RateLimits: cfg.RateLimits,
	}, store)
	if err != nil {
		return err
	}
	sourceIDs := make([]string, len(cfg.Sources))
	for i, src := range cfg.Sources {
		sourceIDs[i] = src.ID
	}
	ui, err := webui.New(webui.Config{Tokens: cfg.Tokens, Leads: view, Sinks: registry, Proofs: auditing.Tree,
		Sources: sourceIDs, Logger: log}, store)
	if err != nil {
		return err
	}
	addrs, handlers, names := []string{cfg.Listen}, []http.Handler{webui.Mount(ui, api)}, []string{"addr"}
	if cfg.Metrics.Listen != "" {
		addrs, handlers, names = append(addrs, cfg.Metrics.Listen), append(handlers, api.MetricsHandler()), append(names, "metrics_addr")
	}
	if cfg.DebugListen != "" {
		addrs, handlers, names = append(addrs, cfg.DebugListen), append(handlers, debugHandler()), append(names, "debug_addr")
	}
	listeners, err := listenAll(addrs)
	if err != nil {
		return err
	}
	if cfg.TLS.Enabled() { // the API and the UI; the metrics and debug listeners stay local, plain HTTP
		cert, err := loadCertificate(cfg.TLS)
		if err != nil {
			for _, ln := range listeners {
				_ = ln.Close()
			}
			return err
		}
		go cert.reloadOnHangup(ctx, log)
		listeners[0] = tls.NewListener(listeners[0], cert.config())
	}
	errc := make(chan error, len(listeners))
	servers := make([]*http.Server, len(listeners))
	for i, ln := range listeners {
		servers[i] = newHTTPServer(handlers[i])
		// Shutdown waits for every handler: event streams end at once rather than hold it.
		servers[i].RegisterOnShutdown(api.CloseStreams)
		go func() { errc <- servers[i].Serve(ln) }()
	}
	var attrs []any
	for i, ln := range listeners {
		attrs = append(attrs, names[i], ln.Addr().String())
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

// keepRunning runs a reader of the log until ctx is done, and starts it again after it stops
// early (say the database was unreachable), so an outage never ends it for good. While it keeps
// stopping soon after a start, the wait doubles, from a second up to 30 s, so an outage is a few
// lines in the log, not one a second; an unavailable database is a warning, anything else an
// error.
func keepRunning(ctx context.Context, log *slog.Logger, name string, run func(context.Context) error) {
	wait := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > 30*time.Second {
			wait = time.Second
		}
		level := slog.LevelError
		if eventstore.IsUnavailable(err) {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "log reader stopped; starting it again", "reader", name, "in", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
