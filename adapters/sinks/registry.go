package sinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/leadledger/leadledger/adapters/netguard"
	"github.com/leadledger/leadledger/adapters/sealed"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// Registry keeps the sinks, their replays and every delivery attempt in the database, beside
// the log. Every change signals Changed, so the delivery engine reacts at once.
type Registry struct {
	store   *eventstore.Store
	keyring atomic.Pointer[sealed.Keyring] // seals credentials at rest; nil keeps them in plain text
	changed chan struct{}
	now     func() time.Time
	hook    webhook // sends what an operator asks for at once: pings and redeliveries
	edits   edits   // changes made through this registry, per sink
	guard   netguard.Guard
}

// NewRegistry creates the sinks' tables if needed. Sinks may reach only public addresses
// unless AllowPrivateURLs says otherwise.
func NewRegistry(ctx context.Context, store *eventstore.Store, opts ...RegistryOption) (*Registry, error) {
	if store == nil {
		return nil, errors.New("sinks: store is required")
	}
	r := &Registry{store: store, changed: make(chan struct{}, 1), now: time.Now}
	for _, opt := range opts {
		opt(r)
	}
	r.hook = webhook{client: newWebhookClient(operatorSendTimeout, newTransport(r.guard)), now: time.Now}
	if err := r.Migrate(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Changed receives a value after sinks or replays were changed through the registry.
func (r *Registry) Changed() <-chan struct{} { return r.changed }

func (r *Registry) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *Registry) q(query string) string { return r.store.Rebind(query) }

// exec runs one write; on SQLite writes go through the log's single writer connection.
func (r *Registry) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.store.DB().ExecContext(ctx, r.q(query), args...)
}

// Create adds a sink. "beginning" starts its cursor at 0, "now" at the log's head.
func (r *Registry) Create(ctx context.Context, n NewSink) (Sink, error) {
	if err := n.Validate(); err != nil {
		return Sink{}, err
	}
	if err := r.checkAddresses(ctx, n); err != nil {
		return Sink{}, err
	}
	var position int64
	if n.Start != "beginning" {
		head, err := r.store.Head(ctx)
		if err != nil {
			return Sink{}, err
		}
		position = head
	}
	s := n.sink()
	s.ID, s.Position, s.CreatedAt = uuid.Must(uuid.NewV7()), position, r.now().UTC()
	secret, config, err := r.seal(s)
	if err != nil {
		return Sink{}, err
	}
	filter, _ := json.Marshal(s.Filter)
	mapping, _ := json.Marshal(s.Mapping)
	limit, _ := json.Marshal(s.RateLimit)
	if _, err := r.exec(ctx, `INSERT INTO sinks (id, name, type, url, secret, filter, status, position, created_at,
		mode, record_key, config, mapping, rate_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID.String(), s.Name, s.Type, s.URL, secret, string(filter), string(s.Status), s.Position,
		formatTime(s.CreatedAt), s.Mode, s.RecordKey, config, string(mapping), string(limit)); err != nil {
		return Sink{}, fmt.Errorf("create sink: %w", err)
	}
	r.signal()
	return s, nil
}

const sinkColumns = `id, name, type, url, secret, filter, status, position, delivered, failed, last_error, created_at,
	mode, record_key, config, mapping, rate_limit, retry_at, old_secret, old_secret_expires_at`

// Sinks lists the sinks that are not deleted, oldest first.
func (r *Registry) Sinks(ctx context.Context) ([]Sink, error) {
	rows, err := r.store.ReadDB().QueryContext(ctx, `SELECT `+sinkColumns+` FROM sinks WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list sinks: %w", err)
	}
	defer rows.Close()
	var out []Sink
	for rows.Next() {
		s, err := scanSink(rows)
		if err == nil {
			err = r.open(&s)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Sink returns one sink; domain.ErrNotFound if it does not exist or was deleted.
func (r *Registry) Sink(ctx context.Context, id uuid.UUID) (Sink, error) {
	row := r.store.ReadDB().QueryRowContext(ctx, r.q(`SELECT `+sinkColumns+` FROM sinks WHERE id = ? AND deleted_at IS NULL`), id.String())
	s, err := scanSink(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Sink{}, fmt.Errorf("sink %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return Sink{}, err
	}
	return s, r.open(&s)
}

// Known reports whether a sink exists or once existed: a deleted sink's attempts and replays
// stay on record for auditors.
func (r *Registry) Known(ctx context.Context, id uuid.UUID) error {
	var n int
	if err := r.store.ReadDB().QueryRowContext(ctx, r.q(`SELECT COUNT(*) FROM sinks WHERE id = ?`), id.String()).Scan(&n); err != nil {
		return fmt.Errorf("look up sink %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sink %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

func scanSink(row interface{ Scan(...any) error }) (Sink, error) {
	var s Sink
	var id, filter, status, created, config, mapping, limit string
	var retryAt, oldExpires sql.NullString
	if err := row.Scan(&id, &s.Name, &s.Type, &s.URL, &s.Secret, &filter, &status, &s.Position,
		&s.Delivered, &s.Failed, &s.LastError, &created, &s.Mode, &s.RecordKey, &config, &mapping, &limit, &retryAt,
		&s.OldSecret, &oldExpires); err != nil {
		return Sink{}, fmt.Errorf("read sink: %w", err)
	}
	s.ID, s.Status, s.CreatedAt = uuid.MustParse(id), Status(status), parseTime(created)
	if config != "" {
		s.Config = json.RawMessage(config)
	}
	if retryAt.Valid {
		t := parseTime(retryAt.String)
		s.RetryAt = &t
	}
	if oldExpires.Valid {
		t := parseTime(oldExpires.String)
		s.OldSecretExpiresAt = &t
	}
	for _, field := range []struct {
		text string
		into any
	}{{filter, &s.Filter}, {mapping, &s.Mapping}, {limit, &s.RateLimit}} {
		if field.text == "" {
			continue
		}
		if err := json.Unmarshal([]byte(field.text), field.into); err != nil {
			return Sink{}, fmt.Errorf("read sink %s: %w", id, err)
		}
	}
	return s, nil
}

// Pause stops delivery to a sink (live and replays) until it is resumed.
func (r *Registry) Pause(ctx context.Context, id uuid.UUID) (Sink, error) {
	return r.setStatus(ctx, id, StatusPaused)
}

// Resume restarts delivery to a paused, failing or disabled sink from where it stopped.
func (r *Registry) Resume(ctx context.Context, id uuid.UUID) (Sink, error) {
	return r.setStatus(ctx, id, StatusActive)
}

func (r *Registry) setStatus(ctx context.Context, id uuid.UUID, status Status) (Sink, error) {
	// A resume tries at once, also a sink parked by a daily limit.
	res, err := r.exec(ctx, `UPDATE sinks SET status = ?, retry_at = CASE WHEN ? = 'active' THEN NULL ELSE retry_at END
		WHERE id = ? AND deleted_at IS NULL`, string(status), string(status), id.String())
	if err := affectedOne(res, err, "sink", id); err != nil {
		return Sink{}, err
	}
	r.signal()
	return r.Sink(ctx, id)
}

// fail shows an active sink failing, with why.
func (r *Registry) fail(ctx context.Context, id uuid.UUID, why string) error {
	_, err := r.exec(ctx, `UPDATE sinks SET status = 'failing', last_error = ? WHERE id = ? AND status IN ('active', 'failing')`, why, id.String())
	return err
}

// Delete removes a sink: delivery stops and its replays are cancelled. Its credentials go with
// it (see forget); its attempts and replays stay on record for auditors.
func (r *Registry) Delete(ctx context.Context, id uuid.UUID) error {
	s, err := r.Sink(ctx, id)
	if err != nil {
		return err
	}
	now := formatTime(r.now())
	res, err := r.exec(ctx, `UPDATE sinks SET deleted_at = ?, secret = '', old_secret = '', config = '', url = ? WHERE id = ? AND deleted_at IS NULL`,
		now, s.Origin(), id.String())
	if err := affectedOne(res, err, "sink", id); err != nil {
		return err
	}
	if err := r.forget(ctx, s); err != nil {
		return err
	}
	if _, err := r.exec(ctx, `UPDATE sink_replays SET status = ?, finished_at = ? WHERE sink_id = ? AND status = ?`,
		string(ReplayCancelled), now, id.String(), string(ReplayRunning)); err != nil {
		return fmt.Errorf("cancel replays of sink %s: %w", id, err)
	}
	r.signal()
	return nil
}

// forget deletes what a deleted sink knew of its credentials: its secrets and its config (a
// CRM's tokens) are blanked, the URL cut to its origin, and every form of the URL's credentials
// replaced in the errors its receiver answered (kept in its attempts and last error, redacted
// as they were written, but not by older versions, nor of its path).
func (r *Registry) forget(ctx context.Context, s Sink) error {
	if _, err := r.exec(ctx, `UPDATE sinks SET secret = '', old_secret = '', config = '', url = ?, last_error = ? WHERE id = ?`,
		s.Origin(), s.redact(s.LastError), s.ID.String()); err != nil {
		return fmt.Errorf("forget credentials of sink %s: %w", s.ID, err)
	}
	for _, c := range s.credentials() {
		if _, err := r.exec(ctx, `UPDATE sink_attempts SET error = REPLACE(error, ?, 'REDACTED') WHERE sink_id = ? AND error <> ''`,
			c, s.ID.String()); err != nil {
			return fmt.Errorf("forget credentials in the attempts of sink %s: %w", s.ID, err)
		}
	}
	return nil
}

func affectedOne(res sql.Result, err error, what string, id uuid.UUID) error {
	if err != nil {
		return fmt.Errorf("update %s %s: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("%s %s: %w", what, id, domain.ErrNotFound)
	}
	return nil
}

// Attempts lists a sink's delivery attempts after an attempt id, oldest first, optionally of
// one event only.
func (r *Registry) Attempts(ctx context.Context, sinkID uuid.UUID, after int64, limit int, eventID *uuid.UUID) ([]Attempt, error) {
	// A retry is pending only as long as no later attempt of its cursor at the same event exists.
	query := `SELECT id, sink_id, replay_id, event_id, position, lead_id, attempt, status_code, latency_ms, error, attempted_at,
		manual, CASE WHEN EXISTS (SELECT 1 FROM sink_attempts b WHERE b.sink_id = a.sink_id AND b.event_id = a.event_id
			AND b.id > a.id AND NOT b.manual AND COALESCE(b.replay_id, '') = COALESCE(a.replay_id, '')) THEN NULL ELSE next_attempt_at END
		FROM sink_attempts a WHERE sink_id = ? AND id > ?`
	args := []any{sinkID.String(), after}
	if eventID != nil {
		query += ` AND event_id = ?`
		args = append(args, eventID.String())
	}
	rows, err := r.store.ReadDB().QueryContext(ctx, r.q(query+` ORDER BY id LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list attempts of sink %s: %w", sinkID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var sink, event, lead, at string
		var replay, next sql.NullString
		if err := rows.Scan(&a.ID, &sink, &replay, &event, &a.Position, &lead, &a.Number, &a.StatusCode,
			&a.LatencyMS, &a.Error, &at, &a.Manual, &next); err != nil {
			return nil, fmt.Errorf("read attempt: %w", err)
		}
		a.SinkID, a.EventID, a.LeadID, a.AttemptedAt = uuid.MustParse(sink), uuid.MustParse(event), uuid.MustParse(lead), parseTime(at)
		if replay.Valid {
			id := uuid.MustParse(replay.String)
			a.ReplayID = &id
		}
		if next.Valid {
			a.NextAttemptAt = new(parseTime(next.String))
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attempts of sink %s: %w", sinkID, err)
	}
	return r.withoutStoppedRetries(ctx, sinkID, out)
}

// Times are stored as RFC 3339 text in UTC on both databases.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
