package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/leadledger/leadledger/projections"
)

// migrate creates or upgrades the schema of the log and of its read models, then stops.
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
