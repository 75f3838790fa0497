package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
)

// errBroken is verify's failure: the log does not verify (exit status 1, like any error).
var errBroken = errors.New("the log does not verify")

// verify checks the whole log: every raw body against its SHA-256, every hash against the
// chain, and prints the Merkle tree head over it.
func verify(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leadledger verify", flag.ContinueOnError)
	path := fs.String("config", getenv("LEDGER_CONFIG"), "YAML configuration file (or LEDGER_CONFIG)")
	from := fs.Int64("from", 0, "verify from this position on, taking the events before it on trust")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	store, err := openStore(ctx, cfg, newLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer store.Close()
	start, lastReport := time.Now(), time.Now()
	v, err := audit.Verify(ctx, store, *from, func(v audit.Verified) {
		if isTerminal(os.Stderr) && time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "\rverified %d events (position %d), %.0f events/s", v.Events, v.Position,
				float64(v.Events)/time.Since(start).Seconds())
		}
	})
	if isTerminal(os.Stderr) {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	var broken *eventstore.BrokenChainError
	if errors.As(err, &broken) {
		fmt.Fprintf(stdout, "broken at position %d: %s: %s\n", broken.Position, broken.What, broken.Detail)
		return fmt.Errorf("%w: position %d, %s", errBroken, broken.Position, broken.What)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "ok: %d events, root %s\n", v.Events, hex.EncodeToString(v.Root))
	return err
}

// isTerminal reports whether f is a terminal, where a progress line may redraw itself.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
