package sinks_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/sinks"
)

// The credentials a sink's URL carries in these tests, and every form they travel in.
const hookUser, hookPassword, hookToken = "hook-user", "hook-password-1", "query-token-2"

// hookPath is a secret in the path, as Slack's and Zapier's hooks carry theirs.
const hookPath = "/hooks/catch/path-secret-3"

var credentials = []string{secret, strings.TrimPrefix(secret, "whsec_"), hookUser, hookPassword, hookToken, hookPath,
	base64.StdEncoding.EncodeToString([]byte(hookUser + ":" + hookPassword))}

func withCredentials(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User, u.Path, u.RawQuery = url.UserPassword(hookUser, hookPassword), hookPath, "token="+hookToken
	return u.String()
}

// Deleting a sink deletes its credentials with it: the secret and the URL but for its origin
// leave the database, while its attempts and replays stay readable and carry none of
// them, not even when the receiver echoed them back in its answers.
func TestDeletedSinkForgetsItsCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		var logs lockedBuffer
		cfg := fastConfig()
		cfg.Backoff.MaxAttempts = 3
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		l := openLedger(t, dbURL, cfg)
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized) // as some receivers do, it echoes what it got
			fmt.Fprintf(w, "bad credentials for %s: %s", r.URL.RequestURI(), r.Header.Get("Authorization"))
		}))
		defer echo.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_ = ln.Close() // nothing listens there: every attempt is refused

		refusing := l.addSink(t, withCredentials(t, echo.URL), "beginning", sinks.Filter{})
		unreachable := l.addSink(t, withCredentials(t, "http://"+ln.Addr().String()), "beginning", sinks.Filter{})
		events := l.appendEvents(t, "leadflo", 2, 2)
		rp := l.replay(t, refusing, sinks.NewReplay{FromPosition: ptr(int64(0))})
		waitFor(t, "every event given up", 20*time.Second, func() bool {
			return l.sink(t, refusing.ID).Failed == 2 && l.sink(t, unreachable.ID).Failed == 2 && l.replayNow(t, rp).Status == sinks.ReplayCompleted
		})
		if got := l.sink(t, refusing.ID).LastError; !strings.Contains(got, "bad credentials for REDACTED?token=REDACTED") {
			t.Fatalf("last_error %q; want the receiver's echo, its credentials redacted", got)
		}
		if dump := tableText(t, l.store.ReadDB(), "sinks"); !strings.Contains(dump, hookPassword) || !strings.Contains(dump, secret) {
			t.Fatal("the live sinks' rows hold no credentials: the checks below would prove nothing")
		}

		for _, s := range []sinks.Sink{refusing, unreachable} {
			if err := l.registry.Delete(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			var storedSecret, storedURL string
			row := l.store.ReadDB().QueryRow(l.store.Rebind(`SELECT secret, url FROM sinks WHERE id = ?`), s.ID.String())
			if err := row.Scan(&storedSecret, &storedURL); err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(s.URL)
			if origin := u.Scheme + "://" + u.Host; storedSecret != "" || storedURL != origin {
				t.Errorf("deleted sink's row: secret %q, url %q; want no secret and the url cut to %q", storedSecret, storedURL, origin)
			}
		}
		l.stopped(t, "sinks", refusing.ID)
		l.stopped(t, "sinks", unreachable.ID)
		for _, table := range []string{"sinks", "sink_replays", "sink_attempts"} {
			checkNoCredentials(t, table, tableText(t, l.store.ReadDB(), table))
		}
		checkNoCredentials(t, "the logs", logs.String())

		// The delivery history stays readable.
		for _, s := range []sinks.Sink{refusing, unreachable} {
			if attempts, err := l.registry.Attempts(ctx, s.ID, 0, 100, nil); err != nil || len(attempts) < 2*cfg.Backoff.MaxAttempts {
				t.Errorf("attempts of the deleted sink: %d, %v; want every one of them", len(attempts), err)
			}
		}
		if got, err := l.registry.Replay(ctx, rp.ID); err != nil || got.Failed != int64(len(events)) {
			t.Errorf("replay of the deleted sink = %+v, %v; want it readable", got, err)
		}
	})
}

// A sink deleted before deletion took its credentials loses them at the next migration.
func TestMigrateForgetsCredentialsOfSinksDeletedBefore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbURL string) {
		l := openLedger(t, dbURL, fastConfig())
		s := l.addSink(t, withCredentials(t, "http://127.0.0.1:9"), "now", sinks.Filter{})
		// What Delete did before: mark the row, keep the rest (a CRM sink's config, its tokens, too).
		if _, err := l.store.DB().Exec(l.store.Rebind(`UPDATE sinks SET deleted_at = ?, config = ? WHERE id = ?`),
			time.Now().UTC().Format(time.RFC3339Nano), "sealed-crm-config", s.ID.String()); err != nil {
			t.Fatal(err)
		}
		if err := l.registry.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		text := tableText(t, l.store.ReadDB(), "sinks")
		checkNoCredentials(t, "sinks", text)
		if strings.Contains(text, "sealed-crm-config") {
			t.Errorf("the deleted sink still holds its config:\n%s", text)
		}
		if err := l.registry.Known(context.Background(), s.ID); err != nil {
			t.Errorf("the deleted sink is no longer known: %v", err)
		}
	})
}

func checkNoCredentials(t *testing.T, where, text string) {
	t.Helper()
	for _, c := range credentials {
		if strings.Contains(text, c) {
			t.Errorf("%s still hold the credential %q:\n%s", where, c, text)
		}
	}
}

// tableText is every value of every row of a table, as text.
func tableText(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	columns, _ := rows.Columns()
	var out strings.Builder
	for rows.Next() {
		values := make([]any, len(columns))
		ptrs := make([]any, len(columns))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for i, v := range values {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&out, "%s=%v ", columns[i], v)
		}
		out.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return out.String()
}

// lockedBuffer collects logs written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
