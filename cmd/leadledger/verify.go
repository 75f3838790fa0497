package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
)

// errBroken is verify's failure: the log does not verify (exit status 1, like any error).
var errBroken = errors.New("the log does not verify")

// verify checks a store's log, or an export file: every raw body against its SHA-256, every
// hash against the chain, every checkpoint's signature and root; it prints the Merkle tree head.
func verify(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leadledger verify", flag.ContinueOnError)
	path := fs.String("config", getenv("LEDGER_CONFIG"), "YAML configuration file (or LEDGER_CONFIG)")
	file := fs.String("file", "", "an export file to verify instead of the store")
	from := fs.Int64("from", 0, "verify from this position on, taking the events before it on trust")
	if err := fs.Parse(args); err != nil {
		return err
	}
	started := time.Now()
	var v audit.Verified
	var keys []string
	var err error
	if *file != "" {
		v, keys, err = audit.VerifyExport(func() (io.ReadCloser, error) { return openExport(*file) })
	} else {
		var tree *audit.Tree
		var store *eventstore.Store
		if tree, store, err = openTree(ctx, *path, getenv, true); err != nil {
			return err
		}
		defer store.Close()
		progress := progressLine("verified", started)
		v, err = audit.Verify(ctx, tree, *from, func(v audit.Verified) { progress(v.Events) })
	}
	endProgress()
	var broken *eventstore.BrokenChainError
	if errors.As(err, &broken) {
		fmt.Fprintf(stdout, "broken at position %d: %s: %s\n", broken.Position, broken.What, broken.Detail)
		return fmt.Errorf("%w: position %d, %s", errBroken, broken.Position, broken.What)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	root := hex.EncodeToString(v.Root)
	if root == "" { // an export of a range: the tree's root needs the log from its first event
		root = "none (a range of the log: the root needs every event from the first)"
	}
	if _, err := fmt.Fprintf(stdout, "ok: %d events, root %s\n", v.Events, root); err != nil {
		return err
	}
	if v.Erased > 0 {
		if _, err := fmt.Fprintf(stdout, "%d of them erased: their raw bodies are gone, their SHA-256s are in the chain\n", v.Erased); err != nil {
			return err
		}
	}
	if len(keys) > 0 { // an export names its keys itself: the reader compares them with the one they hold
		_, err = fmt.Fprintf(stdout, "checkpoints signed by: %s\n", strings.Join(keys, ", "))
	}
	return err
}

// isTerminal reports whether f is a terminal, where a progress line may redraw itself.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
