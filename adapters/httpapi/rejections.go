package httpapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// rejectionJSON is a refused webhook as the read API shows it. raw is the body as a string, as
// events show theirs; a body that is not UTF-8 (one reason to refuse it) cannot be a JSON string
// byte for byte, so it comes as raw_base64 instead, with raw null.
type rejectionJSON struct {
	ID         uuid.UUID `json:"id"`
	Source     string    `json:"source"`
	Vendor     string    `json:"vendor"`
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
	Raw        *string   `json:"raw"`
	RawBase64  string    `json:"raw_base64,omitempty"`
	RawSHA256  string    `json:"raw_sha256"`
}

func toRejectionJSON(r domain.RejectedWebhook) rejectionJSON {
	out := rejectionJSON{ID: r.ID, Source: r.Source, Vendor: r.Vendor, ReceivedAt: r.ReceivedAt,
		Reason: r.Reason, RawSHA256: r.RawSHA256}
	if utf8.Valid(r.Raw) {
		raw := string(r.Raw)
		out.Raw = &raw
	} else {
		out.RawBase64 = base64.StdEncoding.EncodeToString(r.Raw)
	}
	return out
}

// listRejections is GET /v1/rejections?source=&limit=&cursor=: refused webhooks, newest first.
func (s *Server) listRejections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), defaultLimit)
	if err != nil || limit < 1 || limit > maxLimit {
		writeError(w, http.StatusBadRequest, "Invalid limit: must be an integer from 1 to 1000")
		return
	}
	f := eventstore.RejectionFilter{Source: q.Get("source")}
	if c := q.Get("cursor"); c != "" {
		// The cursor is the last id of the previous page; callers should treat it as opaque.
		if f.Before, err = uuid.Parse(c); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid cursor: use the next_cursor of a previous page")
			return
		}
	}
	rejections, err := s.log.ReadRejections(r.Context(), f, int(limit))
	if err != nil {
		s.internalError(w, "read rejected webhooks", err)
		return
	}
	out := make([]rejectionJSON, len(rejections))
	next := ""
	for i, rej := range rejections {
		out[i] = toRejectionJSON(rej)
	}
	if len(rejections) == int(limit) {
		next = rejections[len(rejections)-1].ID.String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"rejections": out, "next_cursor": next})
}

// getRejection is GET /v1/rejections/{id}.
func (s *Server) getRejection(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, http.StatusNotFound, "Unknown rejection")
		return
	}
	rej, err := s.log.Rejection(r.Context(), id)
	if errors.Is(err, eventstore.ErrUnknownRejection) {
		writeError(w, http.StatusNotFound, "Unknown rejection")
		return
	}
	if err != nil {
		s.internalError(w, "read rejected webhook", err)
		return
	}
	writeJSON(w, http.StatusOK, toRejectionJSON(rej))
}
