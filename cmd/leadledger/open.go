package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/leadledger/leadledger/adapters/config"
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
	return configAt(*path, getenv)
}

// configAt loads the configuration file at path, then the environment overrides. Every
// command opens a database, so one of them must say which: the default,
// sqlite:./data/ledger.db, would otherwise be created quietly wherever the command was run.
func configAt(path string, getenv func(string) string) (config.Config, error) {
	if path == "" && getenv("LEDGER_DATABASE") == "" {
		return config.Config{}, errors.New("no configuration: pass --config FILE, or set LEDGER_CONFIG or LEDGER_DATABASE")
	}
	cfg, err := config.Load(path, getenv)
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
	return openStoreSeeing(ctx, cfg, log, nil)
}

// openStoreSeeing is openStore that first calls before, if not nil, on the store as it was
// found, before any migration.
func openStoreSeeing(ctx context.Context, cfg config.Config, log *slog.Logger, before func(context.Context, *eventstore.Store) error) (*eventstore.Store, error) {
	database := config.RedactDatabase(cfg.Database)
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		store, err := openAndMigrate(ctx, cfg, log, before)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", database, err)
		}
		return store, nil
	}
	start, delay := time.Now(), 250*time.Millisecond
	for attempt := 1; ; attempt++ {
		store, err := openAndMigrate(ctx, cfg, log, before)
		if err == nil {
			if attempt > 1 {
				log.Info("database ready", "database", database, "attempts", attempt, "waited", time.Since(start).Round(time.Millisecond).String())
			}
			return store, nil
		}
		left := cfg.DatabaseWait - time.Since(start)
		switch {
		case cfg.DatabaseWait == 0, refusedAccess(err), errors.As(err, new(*eventstore.SchemaVersionError)):
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

// refusedAccess reports whether PostgreSQL refused the ledger's credentials (SQLSTATE class 28:
// unknown role, wrong password, no pg_hba entry): waiting does not mend a configuration.
func refusedAccess(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code.Class() == "28"
}

// openAndMigrate is one try of openStore. Its error never shows a credential of the database
// URL, even where a driver quotes the URL it was given.
func openAndMigrate(ctx context.Context, cfg config.Config, log *slog.Logger, before func(context.Context, *eventstore.Store) error) (*eventstore.Store, error) {
	store, err := eventstore.Open(ctx, eventstore.Config{URL: cfg.Database, Logger: log})
	if err != nil {
		return nil, redactedError{err, cfg.Database}
	}
	if before != nil {
		err = before(ctx, store)
	}
	if err == nil {
		err = store.Migrate(ctx)
	}
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
