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
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "leadledger:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: leadledger serve|migrate|rebuild|verify|export|import|version [--config FILE]")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv)
	case "migrate":
		return migrate(ctx, rest, getenv)
	case "rebuild":
		return rebuild(ctx, rest, getenv, stdout)
	case "verify":
		return verify(ctx, rest, getenv, stdout)
	case "export":
		return export(ctx, rest, getenv, stdout)
	case "import":
		return importLog(ctx, rest, getenv, stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, "leadledger", version)
		return err
	default:
		return fmt.Errorf("unknown command %q: usage: leadledger serve|migrate|rebuild|verify|export|import|version [--config FILE]", cmd)
	}
}
