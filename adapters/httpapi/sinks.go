package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
)

// SinkAdmin is what the admin API needs of the sinks' registry.
type SinkAdmin interface {
	Create(ctx context.Context, n sinks.NewSink) (sinks.Sink, error)
	Sinks(ctx context.Context) ([]sinks.Sink, error)
	Sink(ctx context.Context, id uuid.UUID) (sinks.Sink, error)
	Known(ctx context.Context, id uuid.UUID) error
	Pause(ctx context.Context, id uuid.UUID) (sinks.Sink, error)
	Resume(ctx context.Context, id uuid.UUID) (sinks.Sink, error)
	Delete(ctx context.Context, id uuid.UUID) error
	Attempts(ctx context.Context, sinkID uuid.UUID, after int64, limit int, eventID *uuid.UUID) ([]sinks.Attempt, error)
	StartReplay(ctx context.Context, sinkID uuid.UUID, n sinks.NewReplay) (sinks.Replay, error)
	Replay(ctx context.Context, id uuid.UUID) (sinks.Replay, error)
	Replays(ctx context.Context, sinkID uuid.UUID) ([]sinks.Replay, error)
	CancelReplay(ctx context.Context, id uuid.UUID) (sinks.Replay, error)
	Records(ctx context.Context, sinkID uuid.UUID, leadID *uuid.UUID, cursor string, limit int) ([]sinks.RecordEntry, string, error)
	Destinations(ctx context.Context, leadID uuid.UUID) ([]sinks.Destination, error)
	Failures(ctx context.Context, sinkID uuid.UUID, cursor string, limit int) ([]sinks.Failure, string, error)
	RetryFailures(ctx context.Context, sinkID uuid.UUID) (int64, error)
	Update(ctx context.Context, id uuid.UUID, p sinks.SinkPatch) (sinks.Sink, error)
	RotateSecret(ctx context.Context, id uuid.UUID, n sinks.NewSecret) (sinks.Rotated, error)
	Ping(ctx context.Context, id uuid.UUID) (sinks.SendResult, error)
	Redeliver(ctx context.Context, eventID, sinkID uuid.UUID) (sinks.Attempt, error)
	Leases(ctx context.Context) ([]sinks.CursorLease, error)
}

// sinkJSON is a sink as the API shows it (CONTRACT.md, Sink): never its secret.
type sinkJSON struct {
	ID        uuid.UUID    `json:"id"`
	Name      string       `json:"name"`
	Type      string       `json:"type"`
	URL       string       `json:"url"`
	Filter    sinks.Filter `json:"filter"`
	Status    sinks.Status `json:"status"`
	Position  int64        `json:"position"`
	Lag       int64        `json:"lag"`
	Delivered int64        `json:"delivered"`
	Failed    int64        `json:"failed"`
	LastError string       `json:"last_error"`
	CreatedAt time.Time    `json:"created_at"`
	Mode      string       `json:"mode"`
	// CRM and NATS sinks:
	Key       string           `json:"key,omitempty"`
	Config    map[string]any   `json:"config,omitempty"` // credentials shown as REDACTED
	Mapping   sinks.Mapping    `json:"mapping,omitempty"`
	RateLimit *sinks.RateLimit `json:"rate_limit,omitempty"`
	RetryAt   *time.Time       `json:"retry_at,omitempty"`
	// Webhook sinks during a secret rotation's overlap: the old secret signs until then.
	OldSecretExpiresAt *time.Time `json:"old_secret_expires_at,omitempty"`
}

// filterJSON shows an empty filter list as [] rather than null.
func filterJSON(f sinks.Filter) sinks.Filter {
	if f.Types == nil {
		f.Types = []domain.EventType{}
	}
	if f.Sources == nil {
		f.Sources = []string{}
	}
	return f
}

func toSinkJSON(s sinks.Sink, head int64) sinkJSON {
	out := sinkJSON{ID: s.ID, Name: s.Name, Type: s.Type, URL: s.RedactedURL(), Filter: filterJSON(s.Filter), Status: s.Status,
		Position: s.Position, Lag: max(head-s.Position, 0), Delivered: s.Delivered, Failed: s.Failed,
		LastError: s.LastError, CreatedAt: s.CreatedAt, Mode: s.Mode, Key: s.RecordKey, Mapping: s.Mapping, RetryAt: s.RetryAt}
	if s.Type != sinks.TypeWebhook {
		out.Config = s.PublicConfig()
	}
	if s.RateLimit.Requests > 0 {
		out.RateLimit = &s.RateLimit
	}
	if s.OldSecret != "" && s.OldSecretExpiresAt != nil && time.Now().Before(*s.OldSecretExpiresAt) {
		out.OldSecretExpiresAt = s.OldSecretExpiresAt
	}
	return out
}

type replayJSON struct {
	ID           uuid.UUID          `json:"id"`
	SinkID       uuid.UUID          `json:"sink_id"`
	Status       sinks.ReplayStatus `json:"status"`
	FromPosition int64              `json:"from_position"`
	ToPosition   int64              `json:"to_position"`
	Position     int64              `json:"position"`
	Filter       sinks.Filter       `json:"filter"`
	Total        int64              `json:"total"`
	Delivered    int64              `json:"delivered"`
	Failed       int64              `json:"failed"`
	CreatedAt    time.Time          `json:"created_at"`
	FinishedAt   *time.Time         `json:"finished_at"`
	Rate         float64            `json:"rate"`                  // events per second so far
	ETASeconds   *float64           `json:"eta_seconds,omitempty"` // while running, at that rate
	OnlyChanged  bool               `json:"only_changed"`
	// CRM sinks in snapshot mode: records written, and not sent for being as last written.
	RecordsWritten   int64 `json:"records_written"`
	RecordsUnchanged int64 `json:"records_unchanged"`
}

func toReplayJSON(r sinks.Replay) replayJSON {
	out := replayJSON{ID: r.ID, SinkID: r.SinkID, Status: r.Status, FromPosition: r.FromPosition,
		ToPosition: r.ToPosition, Position: r.Position, Filter: filterJSON(r.Filter), Total: r.Total,
		Delivered: r.Delivered, Failed: r.Failed, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
		OnlyChanged: r.OnlyChanged, RecordsWritten: r.RecordsWritten, RecordsUnchanged: r.RecordsUnchanged}
	out.Rate, out.ETASeconds = r.Progress(time.Now())
	return out
}

type attemptJSON struct {
	ID          int64      `json:"id"`
	SinkID      uuid.UUID  `json:"sink_id"`
	ReplayID    *uuid.UUID `json:"replay_id"`
	EventID     uuid.UUID  `json:"event_id"`
	Position    int64      `json:"position"`
	LeadID      uuid.UUID  `json:"lead_id"`
	Attempt     int        `json:"attempt"`
	StatusCode  int        `json:"status_code"`
	LatencyMS   float64    `json:"latency_ms"`
	Error       string     `json:"error"`
	AttemptedAt time.Time  `json:"attempted_at"`
	// NextAttemptAt is when a failed delivery is retried; null when no retry is pending.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Manual        bool       `json:"manual"` // an operator's redelivery, outside every cursor
}

func toAttemptJSON(a sinks.Attempt) attemptJSON {
	return attemptJSON{ID: a.ID, SinkID: a.SinkID, ReplayID: a.ReplayID, EventID: a.EventID, Position: a.Position,
		LeadID: a.LeadID, Attempt: a.Number, StatusCode: a.StatusCode, LatencyMS: a.LatencyMS, Error: a.Error,
		AttemptedAt: a.AttemptedAt, NextAttemptAt: a.NextAttemptAt, Manual: a.Manual}
}

// adminBodyLimit caps an admin request body.
const adminBodyLimit = 64 << 10

// decodeBody reads a JSON request body into v; false means a 400 or 413 was written.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, adminBodyLimit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Body larger than %d bytes", adminBodyLimit))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "Could not read the body")
		return false
	}
	if problem := bodyProblem(body); problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var timeErr *time.ParseError
	switch {
	case err == nil && dec.More():
		writeError(w, http.StatusBadRequest, "Invalid JSON: one object expected")
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid field %s: must be %s", typeErr.Field, typeErr.Type))
	case errors.As(err, &timeErr):
		writeError(w, http.StatusBadRequest, "Invalid time: must be RFC 3339, e.g. 2026-01-02T15:04:05Z")
	case err != nil && strings.HasPrefix(err.Error(), "json: unknown field"):
		writeError(w, http.StatusBadRequest, "Unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	case err != nil:
		writeError(w, http.StatusBadRequest, "Invalid JSON: the body must be a JSON object")
	default:
		return true
	}
	return false
}

// sinkError writes the reply for an error of the registry.
func (s *Server) sinkError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, sinks.ErrInvalid):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), sinks.ErrInvalid.Error()+": "))
	case errors.Is(err, domain.ErrNotFound):
		writeError(w, http.StatusNotFound, "Unknown "+what)
	default:
		s.internalError(w, what, err)
	}
}

func pathID(w http.ResponseWriter, r *http.Request, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, http.StatusNotFound, "Unknown "+what)
	}
	return id, err == nil
}

// createSink is POST /v1/sinks.
func (s *Server) createSink(w http.ResponseWriter, r *http.Request) {
	var n sinks.NewSink
	if !decodeBody(w, r, &n) {
		return
	}
	sink, err := s.cfg.Sinks.Create(r.Context(), n)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	s.cfg.Logger.Info("sink created", "sink", sink.ID, "name", sink.Name, "origin", sink.Origin())
	s.writeSink(w, r, http.StatusCreated, sink)
}

func (s *Server) writeSink(w http.ResponseWriter, r *http.Request, status int, sink sinks.Sink) {
	head, err := s.log.Head(r.Context())
	if err != nil {
		s.internalError(w, "read log head", err)
		return
	}
	writeJSON(w, status, toSinkJSON(sink, head))
}

// listSinks is GET /v1/sinks.
func (s *Server) listSinks(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Sinks.Sinks(r.Context())
	if err != nil {
		s.internalError(w, "list sinks", err)
		return
	}
	head, err := s.log.Head(r.Context())
	if err != nil {
		s.internalError(w, "read log head", err)
		return
	}
	out := make([]sinkJSON, len(list))
	for i, sink := range list {
		out[i] = toSinkJSON(sink, head)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sinks": out})
}

// sinkAction serves GET /v1/sinks/{id} and its pause and resume.
func (s *Server) sinkAction(act func(context.Context, uuid.UUID) (sinks.Sink, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "sink")
		if !ok {
			return
		}
		sink, err := act(r.Context(), id)
		if err != nil {
			s.sinkError(w, "sink", err)
			return
		}
		s.writeSink(w, r, http.StatusOK, sink)
	}
}

// deleteSink is DELETE /v1/sinks/{id}.
func (s *Server) deleteSink(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	if err := s.cfg.Sinks.Delete(r.Context(), id); err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sinkAttempts is GET /v1/sinks/{id}/attempts?after=&limit=&event_id=: every delivery attempt,
// oldest first.
func (s *Server) sinkAttempts(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	q := r.URL.Query()
	after, err := intParam(q.Get("after"), 0)
	if err != nil || after < 0 {
		writeError(w, http.StatusBadRequest, "Invalid after: must be an attempt id, an integer >= 0")
		return
	}
	limit, err := intParam(q.Get("limit"), defaultLimit)
	if err != nil || limit < 1 || limit > maxLimit {
		writeError(w, http.StatusBadRequest, "Invalid limit: must be an integer from 1 to 1000")
		return
	}
	var eventID *uuid.UUID
	if v := q.Get("event_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Invalid event_id: must be an event's UUID")
			return
		}
		eventID = &id
	}
	if err := s.cfg.Sinks.Known(r.Context(), id); err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	attempts, err := s.cfg.Sinks.Attempts(r.Context(), id, after, int(limit), eventID)
	if err != nil {
		s.internalError(w, "list attempts", err)
		return
	}
	out := make([]attemptJSON, len(attempts))
	next := after
	for i, a := range attempts {
		out[i] = toAttemptJSON(a)
		next = a.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": out, "next_after": next})
}

// startReplay is POST /v1/sinks/{id}/replays.
func (s *Server) startReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	var n sinks.NewReplay
	if !decodeBody(w, r, &n) {
		return
	}
	rp, err := s.cfg.Sinks.StartReplay(r.Context(), id, n)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	writeJSON(w, http.StatusAccepted, toReplayJSON(rp))
}

// listReplays is GET /v1/sinks/{id}/replays.
func (s *Server) listReplays(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	if err := s.cfg.Sinks.Known(r.Context(), id); err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	list, err := s.cfg.Sinks.Replays(r.Context(), id)
	if err != nil {
		s.internalError(w, "list replays", err)
		return
	}
	out := make([]replayJSON, len(list))
	for i, rp := range list {
		out[i] = toReplayJSON(rp)
	}
	writeJSON(w, http.StatusOK, map[string]any{"replays": out})
}

// replayAction serves GET /v1/replays/{id} and its cancel.
func (s *Server) replayAction(act func(context.Context, uuid.UUID) (sinks.Replay, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "replay")
		if !ok {
			return
		}
		rp, err := act(r.Context(), id)
		if err != nil {
			s.sinkError(w, "replay", err)
			return
		}
		writeJSON(w, http.StatusOK, toReplayJSON(rp))
	}
}
