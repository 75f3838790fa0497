package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq"
)

// withDatabase is the PostgreSQL URL u with its database replaced by name.
func withDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		abortf("PostgreSQL URL: %v", err)
	}
	parsed.Path = "/" + name
	return parsed.String()
}

// sharedDB makes a database of the drill's own on the shared PostgreSQL, dropped at the end.
func (e *env) sharedDB(name string) string {
	return e.createDB(e.opt.pg, fmt.Sprintf("chaos_%s_%d_%d", name, os.Getpid(), time.Now().UnixNano()%1e6))
}

func (e *env) createDB(server, name string) string {
	db, err := sql.Open("postgres", server)
	if err != nil {
		abortf("PostgreSQL: %v", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(e.ctx, "CREATE DATABASE "+name); err != nil {
		abortf("CREATE DATABASE %s: %v", name, err)
	}
	e.cleanup(func() {
		if db, err := sql.Open("postgres", server); err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	return withDatabase(server, name)
}

// leaseOwner is the lease_owner of a sink's cursor (empty when nobody holds it).
func leaseOwner(database, sinkID string) string {
	db, err := sql.Open("postgres", database)
	if err != nil {
		return ""
	}
	defer db.Close()
	var owner string
	if db.QueryRow(`SELECT lease_owner FROM sinks WHERE id = $1`, sinkID).Scan(&owner) != nil {
		return ""
	}
	return owner
}

// cluster is a private PostgreSQL server in a directory of its own, for the drill that stops
// it: the shared one on 5432 serves others.
type cluster struct {
	e         *env
	dir, data string
	port      int
}

// command is a PostgreSQL binary to run, as the postgres user when we are root (initdb and the
// server refuse to run as root).
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(c.e.opt.pgBin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// asPostgres runs a PostgreSQL binary to its end; the drill stops if it fails.
func (c *cluster) asPostgres(name string, args ...string) {
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		abortf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (e *env) newCluster() *cluster {
	if e.opt.pgBin == "" {
		abortf("no initdb under /usr/lib/postgresql/*/bin (Debian's postgresql package), and no -pg-bin")
	}
	dir, err := os.MkdirTemp("", "chaos-pg")
	if err != nil {
		abortf("%v", err)
	}
	e.cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			abortf("no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			abortf("%v", err)
		}
	}
	port, _ := strconv.Atoi(freeAddr()[len("127.0.0.1:"):])
	c := &cluster{e: e, dir: dir, data: filepath.Join(dir, "data"), port: port}
	c.asPostgres("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	c.start()
	e.cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
			_ = c.command("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop").Run()
		}
	})
	return c
}

func (c *cluster) start() {
	opts := strings.Join([]string{"-p", strconv.Itoa(c.port), "-k", c.dir, "-c", "listen_addresses=127.0.0.1"}, " ")
	c.asPostgres("pg_ctl", "-D", c.data, "-l", filepath.Join(c.dir, "server.log"), "-o", opts, "-w", "start")
}

// stop stops the server the way an operator would for maintenance: connections are cut and
// transactions under way rolled back.
func (c *cluster) stop() { c.asPostgres("pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop") }

func (c *cluster) url(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}
