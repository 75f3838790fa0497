package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// recordJSON is one record of a sink's identity map (CONTRACT.md, CRM destinations).
type recordJSON struct {
	Key         string            `json:"key"`
	LeadIDs     []uuid.UUID       `json:"lead_ids"`
	ExternalID  string            `json:"external_id"`
	ExternalIDs map[string]string `json:"external_ids"`
	Position    int64             `json:"position"`
	SyncedAt    time.Time         `json:"synced_at"`
}

type failureJSON struct {
	Item     string      `json:"item"` // the record key, or the event id
	Kind     string      `json:"kind"` // record | event
	LeadIDs  []uuid.UUID `json:"lead_ids"`
	Position int64       `json:"position"`
	Error    string      `json:"error"`
	Attempts int         `json:"attempts"`
	Status   string      `json:"status"` // failed | retrying
	FailedAt time.Time   `json:"failed_at"`
}

type destinationJSON struct {
	SinkID     uuid.UUID `json:"sink_id"`
	Name       string    `json:"name"`
	RecordKey  string    `json:"record_key"`
	ExternalID string    `json:"external_id"`
	Position   int64     `json:"position"`
	SyncedAt   time.Time `json:"synced_at"`
}

// pageParams reads limit and cursor; false means a 400 was written.
func pageParams(w http.ResponseWriter, r *http.Request) (limit int, cursor string, ok bool) {
	n, err := intParam(r.URL.Query().Get("limit"), defaultLimit)
	if err != nil || n < 1 || n > maxLimit {
		writeError(w, http.StatusBadRequest, "Invalid limit: must be an integer from 1 to 1000")
		return 0, "", false
	}
	return int(n), r.URL.Query().Get("cursor"), true
}

// sinkRecords is GET /v1/sinks/{id}/records?lead_id=&limit=&cursor=: the identity map.
func (s *Server) sinkRecords(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	limit, cursor, ok := pageParams(w, r)
	if !ok {
		return
	}
	var leadID *uuid.UUID
	if v := r.URL.Query().Get("lead_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Invalid lead_id: must be a lead's UUID")
			return
		}
		leadID = &id
	}
	if err := s.cfg.Sinks.Known(r.Context(), id); err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	records, next, err := s.cfg.Sinks.Records(r.Context(), id, leadID, cursor, limit)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	out := make([]recordJSON, len(records))
	for i, e := range records {
		out[i] = recordJSON{Key: e.Key, LeadIDs: e.LeadIDs, ExternalID: e.ExternalID, ExternalIDs: e.ExternalIDs,
			Position: e.Position, SyncedAt: e.SyncedAt}
		if out[i].ExternalIDs == nil {
			out[i].ExternalIDs = map[string]string{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": out, "next_cursor": next})
}

// sinkFailures is GET /v1/sinks/{id}/failures?limit=&cursor=: the dead letters.
func (s *Server) sinkFailures(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	limit, cursor, ok := pageParams(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Sinks.Known(r.Context(), id); err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	failures, next, err := s.cfg.Sinks.Failures(r.Context(), id, cursor, limit)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	out := make([]failureJSON, len(failures))
	for i, f := range failures {
		out[i] = failureJSON{Item: f.Item, Kind: f.Kind, LeadIDs: f.LeadIDs, Position: f.Position, Error: f.Error,
			Attempts: f.Attempts, Status: f.Status, FailedAt: f.FailedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"failures": out, "next_cursor": next})
}

// retrySinkFailures is POST /v1/sinks/{id}/failures/retry.
func (s *Server) retrySinkFailures(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	n, err := s.cfg.Sinks.RetryFailures(r.Context(), id)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"retrying": n})
}

// destinations lists where a lead went, for GET /v1/leads/{id}; none without a sinks API.
func (s *Server) destinations(ctx context.Context, leadID uuid.UUID) ([]destinationJSON, error) {
	out := []destinationJSON{}
	if s.cfg.Sinks == nil {
		return out, nil
	}
	list, err := s.cfg.Sinks.Destinations(ctx, leadID)
	for _, d := range list {
		out = append(out, destinationJSON{SinkID: d.SinkID, Name: d.Name, RecordKey: d.RecordKey,
			ExternalID: d.ExternalID, Position: d.Position, SyncedAt: d.SyncedAt})
	}
	return out, err
}
