package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
)

// patchSink is PATCH /v1/sinks/{id}: a partial change of name, url, filter, rate_limit or
// mapping; the running delivery picks it up at once.
func (s *Server) patchSink(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	var p sinks.SinkPatch
	if !decodeBody(w, r, &p) {
		return
	}
	sink, err := s.cfg.Sinks.Update(r.Context(), id, p)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	s.cfg.Logger.Info("sink changed", "sink", sink.ID, "name", sink.Name, "origin", sink.Origin())
	s.writeSink(w, r, http.StatusOK, sink)
}

// rotationJSON is the reply to a secret rotation: the generated secret, shown this once.
type rotationJSON struct {
	Sink               sinkJSON  `json:"sink"`
	Secret             string    `json:"secret,omitempty"`
	OldSecretExpiresAt time.Time `json:"old_secret_expires_at"`
}

// rotateSinkSecret is POST /v1/sinks/{id}/secret.
func (s *Server) rotateSinkSecret(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	var n sinks.NewSecret
	if r.ContentLength != 0 && !decodeBody(w, r, &n) { // no body: generate, with the default overlap
		return
	}
	rotated, err := s.cfg.Sinks.RotateSecret(r.Context(), id, n)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	s.cfg.Logger.Info("sink secret rotated", "sink", id, "old_secret_expires_at", rotated.ExpiresAt, "generated", rotated.Generated != "")
	head, err := s.log.Head(r.Context())
	if err != nil {
		s.internalError(w, "read log head", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it may carry the new secret
	writeJSON(w, http.StatusOK, rotationJSON{Sink: toSinkJSON(rotated.Sink, head), Secret: rotated.Generated,
		OldSecretExpiresAt: rotated.ExpiresAt})
}

// sendJSON is what a request the ledger made on an operator's behalf came to.
type sendJSON struct {
	WebhookID  string  `json:"webhook_id"`
	Delivered  bool    `json:"delivered"`   // the receiver answered 2xx
	StatusCode int     `json:"status_code"` // 0: no answer (see error)
	LatencyMS  float64 `json:"latency_ms"`
	Error      string  `json:"error"`
}

// testSink is POST /v1/sinks/{id}/test: one signed ping now. The reply is 200 whatever the
// receiver answered, or if it could not be reached: it reports what happened.
func (s *Server) testSink(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "sink")
	if !ok {
		return
	}
	res, err := s.cfg.Sinks.Ping(r.Context(), id)
	if err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	writeJSON(w, http.StatusOK, sendJSON{WebhookID: res.WebhookID, Delivered: res.Error == "", StatusCode: res.StatusCode,
		LatencyMS: float64(res.Latency.Microseconds()) / 1000, Error: res.Error})
}

// redeliverEvent is POST /v1/events/{id}/redeliver?sink=SINK_ID: the event sent again now to
// one webhook sink, recorded as a manual attempt, which the reply is.
func (s *Server) redeliverEvent(w http.ResponseWriter, r *http.Request) {
	eventID, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, http.StatusNotFound, "Unknown event")
		return
	}
	raw := r.URL.Query().Get("sink")
	if raw == "" {
		writeError(w, http.StatusBadRequest, "Missing required parameter: sink")
		return
	}
	sinkID, err := uuid.Parse(raw)
	if err != nil {
		writeError(w, http.StatusNotFound, "Unknown sink")
		return
	}
	if _, err := s.cfg.Sinks.Sink(r.Context(), sinkID); err != nil {
		s.sinkError(w, "sink", err)
		return
	}
	a, err := s.cfg.Sinks.Redeliver(r.Context(), eventID, sinkID)
	switch {
	case errors.Is(err, sinks.ErrNotForSinkType):
		writeError(w, http.StatusConflict, "Redelivery is for webhook sinks: a CRM sink is written each lead's current state, and a NATS sink takes replays; start a replay instead")
	case errors.Is(err, domain.ErrNotFound):
		writeError(w, http.StatusNotFound, "Unknown event")
	case err != nil:
		s.internalError(w, "redeliver", err)
	default:
		writeJSON(w, http.StatusOK, toAttemptJSON(a))
	}
}
