// Command leadledger receives lead webhooks and keeps every one of them as an immutable event.
//
//	leadledger serve   [--config FILE]   run the server (migrates the schema first)
//	leadledger migrate [--config FILE]   create or upgrade the schema, idempotent
//	leadledger rebuild [--config FILE]   drop the lead view and fold the whole log again
//	leadledger verify  [--config FILE | --file EXPORT] [--from N]   check the log: bodies, chain, checkpoints
//	leadledger export  [--config FILE] --out FILE [--from N] [--to M]   the log as NDJSON (.gz: gzipped)
//	leadledger import  [--config FILE] EXPORT   an export from the start, into an empty store
//	leadledger version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usage is what `leadledger help` prints.
const usage = `leadledger receives lead webhooks and keeps every one of them as an immutable event.

Usage: leadledger <command> [flags]

Every command but help and version opens a database: pass --config FILE, or set LEDGER_CONFIG,
or set LEDGER_DATABASE (sqlite:PATH or postgres://...) to run on defaults.

  serve     run the server (migrates the schema first)
  migrate   create or upgrade every table (log, lead view, sinks, audit), idempotent; says what it did
  rebuild   drop the lead view and fold the whole log again
  verify    check the log: raw bodies, the hash chain, every checkpoint (--file EXPORT, --from N)
  export    write the log as NDJSON, gzipped when the name ends in .gz (--out FILE, --from N, --to M)
  import    read an export from the start into an empty store (EXPORT)
  version   print the version (also --version)
  help      print this (also -h, --help)

leadledger <command> -h lists the command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	if errors.Is(err, flag.ErrHelp) { // a command's -h: its flags were printed
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leadledger:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("no command given: run leadledger help")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout)
	case "rebuild":
		return rebuild(ctx, rest, getenv, stdout)
	case "verify":
		return verify(ctx, rest, getenv, stdout)
	case "export":
		return export(ctx, rest, getenv, stdout)
	case "import":
		return importLog(ctx, rest, getenv, stdout)
	case "version", "--version", "-version":
		_, err := fmt.Fprintln(stdout, "leadledger", version)
		return err
	case "help", "-h", "-help", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q: run leadledger help", cmd)
	}
}
