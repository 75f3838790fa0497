// Command chaos runs fault drills against a real build of the ledger (kill -9, SIGTERM, a
// PostgreSQL outage, a sink receiver outage, a full disk, the failover of a sink's delivery
// between two processes) and prints one line per drill: how many webhooks were acknowledged,
// how many of those are in the log afterwards, and how many were lost. It exits 1 if any drill
// lost an acknowledged event or failed another of its checks. scripts/chaos.sh builds what it
// needs and runs it; see docs/operations.md, "Fault drills".
//
//	go run ./scripts/chaos -bin bin/leadledger -receiver /tmp/receiver -pg postgres://…
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bin, receiver string
	pg            string // the shared PostgreSQL: drills make a database of their own on it
	pgBin         string // Debian's PostgreSQL binaries, for the private cluster of pg-stop
	work          string
	masterKey     string
}

// drill is one fault drill on one backend.
type drill struct {
	name, backend string
	deadline      time.Duration
	run           func(e *env)
}

var drills = []drill{
	{"kill-9", "sqlite", 60 * time.Second, func(e *env) { e.kill9(e.sqliteDB("kill9")) }},
	{"kill-9", "postgres", 60 * time.Second, func(e *env) { e.kill9(e.sharedDB("kill9")) }},
	{"sigterm", "sqlite", 60 * time.Second, func(e *env) { e.sigterm(e.sqliteDB("sigterm")) }},
	{"sigterm", "postgres", 60 * time.Second, func(e *env) { e.sigterm(e.sharedDB("sigterm")) }},
	{"pg-stop", "postgres", 120 * time.Second, func(e *env) { e.pgStop() }},
	{"sink-outage", "postgres", 120 * time.Second, func(e *env) { e.sinkOutage(e.sharedDB("sinkout")) }},
	{"sink-outage", "sqlite", 120 * time.Second, func(e *env) { e.sinkOutage(e.sqliteDB("sinkout")) }},
	{"disk-full", "sqlite", 90 * time.Second, func(e *env) { e.diskFull() }},
	{"failover", "postgres", 120 * time.Second, func(e *env) { e.failover() }},
}

func main() {
	var o options
	var only string
	var keep bool
	flag.StringVar(&o.bin, "bin", "", "the leadledger binary")
	flag.StringVar(&o.receiver, "receiver", "", "the scripts/receiver binary")
	flag.StringVar(&o.pg, "pg", "", "URL of the shared PostgreSQL (scripts/ensure-postgres.sh prints one)")
	flag.StringVar(&o.pgBin, "pg-bin", "", "directory of initdb and pg_ctl (default: the newest /usr/lib/postgresql/*/bin)")
	flag.StringVar(&only, "only", "", "comma-separated drill names to run (default: all)")
	flag.BoolVar(&keep, "keep", false, "keep the work directory (the servers' logs, the SQLite files) and print its path")
	flag.Parse()
	if o.bin == "" || o.receiver == "" || o.pg == "" {
		fmt.Fprintln(os.Stderr, "chaos: -bin, -receiver and -pg are required (scripts/chaos.sh passes them)")
		os.Exit(2)
	}
	for name := range strings.SplitSeq(only, ",") {
		if only != "" && !slices.ContainsFunc(drills, func(d drill) bool { return d.name == name }) {
			fmt.Fprintf(os.Stderr, "chaos: no drill %q (kill-9, sigterm, pg-stop, sink-outage, disk-full, failover)\n", name)
			os.Exit(2)
		}
	}
	if o.pgBin == "" {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		slices.Sort(found) // lexical: good enough for 13..19
		if len(found) > 0 {
			o.pgBin = filepath.Dir(found[len(found)-1])
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	o.masterKey = base64.StdEncoding.EncodeToString(key)
	var err error
	if o.work, err = os.MkdirTemp("", "chaos"); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	if keep {
		fmt.Println("chaos: work directory", o.work)
	}

	// Ctrl-C ends the drill under way early, still stopping what it started (the private
	// PostgreSQL cluster above all), and runs no more.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	var results []*result
	for _, d := range drills {
		if only != "" && !slices.Contains(strings.Split(only, ","), d.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		r := runDrill(ctx, &o, d)
		fmt.Println(r.line())
		for _, f := range r.failures {
			fmt.Println("    FAILED:", strings.ReplaceAll(f, "\n", "\n      "))
		}
		results = append(results, r)
	}
	status := summary(results, time.Since(started))
	if !keep {
		os.RemoveAll(o.work)
	}
	os.Exit(status)
}

// summary prints the last line and returns the exit status.
func summary(results []*result, took time.Duration) int {
	lost, failed := 0, 0
	for _, r := range results {
		lost += max(r.lost(), 0)
		if len(r.failures) > 0 {
			failed++
		}
	}
	took = took.Round(time.Second)
	if failed == 0 {
		fmt.Printf("chaos: %d drills in %s: 0 lost, every check passed\n", len(results), took)
		return 0
	}
	fmt.Printf("chaos: %d drills in %s: %d lost, %d of them FAILED\n", len(results), took, lost, failed)
	return 1
}
