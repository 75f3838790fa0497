package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/projections"
)

// migrate creates or upgrades the schema of every component (the log, the lead view, the
// sinks, the audit tree), says what it found and what it did, then stops.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		return err
	}
	var tablesBefore []string
	var versionBefore int
	store, err := openStoreSeeing(ctx, cfg, newLogger(cfg.LogLevel), func(ctx context.Context, s *eventstore.Store) (err error) {
		if tablesBefore, err = s.Tables(ctx); err == nil {
			versionBefore, err = s.SchemaVersion(ctx)
		}
		return err
	})
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := sinks.NewRegistry(ctx, store); err != nil {
		return err
	}
	if _, err := audit.NewTree(ctx, store); err != nil {
		return err
	}
	tables, err := store.Tables(ctx)
	if err != nil {
		return err
	}
	var created []string
	for _, t := range tables {
		if !slices.Contains(tablesBefore, t) {
			created = append(created, t)
		}
	}
	version := eventstore.LatestSchemaVersion()
	fmt.Fprintf(stdout, "database %s\n", config.RedactDatabase(cfg.Database))
	if versionBefore == version {
		fmt.Fprintf(stdout, "log schema: version %d, up to date\n", version)
	} else {
		fmt.Fprintf(stdout, "log schema: version %d -> %d\n", versionBefore, version)
	}
	if len(created) == 0 {
		_, err = fmt.Fprintf(stdout, "tables: all %d there already\n", len(tables))
	} else {
		_, err = fmt.Fprintf(stdout, "tables: created %d of %d: %s\n", len(created), len(tables), strings.Join(created, ", "))
	}
	return err
}

// rebuild drops the lead view and folds the whole log again, then stops.
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
