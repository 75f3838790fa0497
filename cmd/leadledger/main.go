// Command leadledger receives lead webhooks and keeps every one of them as an immutable event.
//
//	leadledger serve   [--config FILE]   run the server (migrates the schema first)
//	leadledger migrate [--config FILE]   create or upgrade the schema, idempotent
//	leadledger rebuild [--config FILE]   drop the lead view and fold the whole log again
//	leadledger verify  [--config FILE | --file EXPORT] [--from N]   check the log: bodies, chain, checkpoints
//	leadledger export  [--config FILE] --out FILE [--from N] [--to M]   the log as NDJSON (.gz: gzipped)
//	leadledger import  [--config FILE] EXPORT   an export from the start, into an empty store
//	leadledger rotate-key [--config FILE] [--check | --new-key-file]   re-seal credentials under the current master key
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

On the database: pass --config FILE, or set LEDGER_CONFIG, or set LEDGER_DATABASE
(sqlite:PATH or postgres://...) to run on defaults.

  serve     run the server (migrates the schema first)
  migrate   create or upgrade every table (log, lead view, sinks, audit), idempotent; says what it did
  rebuild   drop the lead view and fold the whole log again
  verify    check the log: raw bodies, the hash chain, every checkpoint (--file EXPORT, --from N)
  export    write the log as NDJSON, gzipped when the name ends in .gz (--out FILE, --from N, --to M)
  import    read an export from the start into an empty store (EXPORT)
  rotate-key  re-seal every credential under the current master key, after a key change
            (--check: count those left under an older key; --new-key-file: a key file's new key)

Against a running ledger's API (--url or LEDGER_URL, default http://127.0.0.1:8080; the API token
in LEDGER_TOKEN):

  events tail [--follow] [--after N] [--type T] [--source S] [--json]
            print the log, and with --follow what is appended to it
  leads get LEAD_ID [--history]        a lead of the lead view, or its events
  leads search --email E | --source S | --q TEXT
  sinks list                           every sink, its status and lag
  sinks create --name N --target URL [--type webhook|nats] [--secret-env VAR] [--start now|beginning]
  sinks create --json FILE             any sink (HubSpot, Salesforce, Pipedrive...), the API's body
  sinks pause|resume SINK_ID
  sinks replay SINK_ID [--from-position N | --from-time T] [--to-position N] [--watch]
  replays watch REPLAY_ID              a progress bar until the replay ends

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
	case "rotate-key":
		return rotateKey(ctx, rest, getenv, stdout)
	case "events", "leads", "sinks", "replays":
		return runClientCommand(ctx, cmd, rest, getenv, stdout)
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
