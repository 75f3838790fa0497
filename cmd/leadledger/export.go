package main

import (
	"compress/gzip"
	"context"
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

// export writes the log (or a range of it) to an NDJSON file, gzipped when its name ends in .gz.
func export(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leadledger export", flag.ContinueOnError)
	path := fs.String("config", getenv("LEDGER_CONFIG"), "YAML configuration file (or LEDGER_CONFIG)")
	out := fs.String("out", "", "the file to write (NDJSON; gzip when it ends in .gz)")
	from := fs.Int64("from", 1, "the first position to export")
	to := fs.Int64("to", 0, "the last position to export (0: the head)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *from < 1 || *to < 0 {
		return errors.New("usage: leadledger export --out FILE [--from N] [--to M] [--config FILE]")
	}
	tree, store, err := openTree(ctx, *path, getenv, true)
	if err != nil {
		return err
	}
	defer store.Close()
	w, err := createExport(*out)
	if err != nil {
		return err
	}
	started := time.Now()
	n, err := audit.Export(ctx, w, tree, *from-1, *to, progressLine("exported", started))
	endProgress()
	if err = errors.Join(err, w.Close()); err != nil {
		return fmt.Errorf("export to %s: %w", *out, err)
	}
	_, err = fmt.Fprintf(stdout, "exported %d events to %s in %s\n", n, *out, time.Since(started).Round(time.Millisecond))
	return err
}

// importLog writes an export from the start into an empty store.
func importLog(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leadledger import", flag.ContinueOnError)
	path := fs.String("config", getenv("LEDGER_CONFIG"), "YAML configuration file (or LEDGER_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: leadledger import [--config FILE] EXPORT")
	}
	tree, store, err := openTree(ctx, *path, getenv, false)
	if err != nil {
		return err
	}
	defer store.Close()
	started := time.Now()
	n, err := audit.Import(ctx, tree, func() (io.ReadCloser, error) { return openExport(fs.Arg(0)) })
	if err != nil {
		return fmt.Errorf("import %s (%d events imported before the error): %w", fs.Arg(0), n, err)
	}
	_, err = fmt.Fprintf(stdout, "imported %d events from %s in %s\n", n, fs.Arg(0), time.Since(started).Round(time.Millisecond))
	return err
}

// openTree opens the store a configuration names, and the tree beside its log. For a command
// that only reads (readOnly), a schema not at this build's version is an error, checked before
// the migration, which then has nothing to do: a newer leadledger must not upgrade the database
// it checks.
func openTree(ctx context.Context, path string, getenv func(string) string, readOnly bool) (*audit.Tree, *eventstore.Store, error) {
	cfg, err := configAt(path, getenv)
	if err != nil {
		return nil, nil, err
	}
	var before func(context.Context, *eventstore.Store) error
	if readOnly {
		before = func(ctx context.Context, s *eventstore.Store) error { return s.CheckSchemaVersion(ctx) }
	}
	store, err := openStoreSeeing(ctx, cfg, newLogger(cfg.LogLevel), before)
	if err != nil {
		return nil, nil, err
	}
	tree, err := audit.NewTree(ctx, store)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	return tree, store, nil
}

// createExport creates an export file, gzipped when its name ends in .gz.
func createExport(path string) (io.WriteCloser, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	return gzipFile{gzip.NewWriter(f), f}, nil
}

type gzipFile struct {
	*gzip.Writer
	f *os.File
}

func (g gzipFile) Close() error { return errors.Join(g.Writer.Close(), g.f.Close()) }

// openExport opens an export file, gunzipping it when its name ends in .gz.
func openExport(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return f, err
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return gunzipFile{z, f}, nil
}

type gunzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gunzipFile) Close() error { return errors.Join(g.Reader.Close(), g.f.Close()) }

// progressLine redraws "<verb> N events, R events/s" on a terminal's stderr, once a second.
func progressLine(verb string, started time.Time) func(int64) {
	last := time.Now()
	return func(n int64) {
		if isTerminal(os.Stderr) && time.Since(last) >= time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "\r%s %d events, %.0f events/s", verb, n, float64(n)/time.Since(started).Seconds())
		}
	}
}

// endProgress clears the progress line.
func endProgress() {
	if isTerminal(os.Stderr) {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}
