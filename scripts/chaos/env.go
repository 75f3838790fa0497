package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// result is what a drill found: its line, and the checks it failed.
type result struct {
	drill, backend string
	acked, found   int
	counted        bool     // found was counted (a drill that stopped early did not)
	undelivered    int      // acknowledged events a sink's receiver never got, where checked
	extra          []string // more figures for the line
	failures       []string
	took           time.Duration
}

func (r *result) lost() int {
	if !r.counted {
		return -1
	}
	return r.acked - r.found + r.undelivered
}

func (r *result) line() string {
	lost := "?"
	if r.counted {
		lost = fmt.Sprint(r.lost())
	}
	s := fmt.Sprintf("%-12s %-9s acked %6d  found %6d  lost %s", r.drill, r.backend, r.acked, r.found, lost)
	if len(r.extra) > 0 {
		s += "  " + strings.Join(r.extra, "  ")
	}
	return s + fmt.Sprintf("  (%.1f s)", r.took.Seconds())
}

// env is what a drill runs in: its deadline, its directory, its result and what to undo.
type env struct {
	ctx      context.Context
	opt      *options
	dir      string
	res      *result
	cleanups []func()
}

// aborted stops a drill that cannot go on (a process did not start, a deadline passed).
type aborted struct{ msg string }

func abortf(format string, args ...any) { panic(aborted{fmt.Sprintf(format, args...)}) }

func runDrill(parent context.Context, o *options, d drill) (r *result) {
	r = &result{drill: d.name, backend: d.backend}
	started := time.Now()
	ctx, cancel := context.WithTimeout(parent, d.deadline)
	e := &env{ctx: ctx, opt: o, res: r, dir: filepath.Join(o.work, d.name+"-"+d.backend)}
	defer func() {
		if p := recover(); p != nil {
			a, ok := p.(aborted)
			if !ok {
				panic(p)
			}
			r.failures = append(r.failures, "stopped: "+a.msg)
		}
		for i := len(e.cleanups) - 1; i >= 0; i-- {
			e.cleanups[i]()
		}
		cancel()
		r.took = time.Since(started)
	}()
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		abortf("%v", err)
	}
	d.run(e)
	return r
}

func (e *env) cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

func (e *env) fail(format string, args ...any) {
	e.res.failures = append(e.res.failures, fmt.Sprintf(format, args...))
}

func (e *env) note(format string, args ...any) {
	e.res.extra = append(e.res.extra, fmt.Sprintf(format, args...))
}

// poll calls cond every 50 ms until it holds (true), d has passed or the drill's deadline has
// come (false).
func (e *env) poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sleep waits d, or less if the drill's deadline comes first.
func (e *env) sleep(d time.Duration) {
	select {
	case <-time.After(d):
	case <-e.ctx.Done():
		abortf("the drill's deadline passed, or it was interrupted")
	}
}

func (e *env) sqliteDB(name string) string {
	return "sqlite:" + filepath.Join(e.dir, name+".db")
}
