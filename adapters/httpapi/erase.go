package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// eraseLead is POST /v1/leads/{lead_id}/erase: the lead's personal data is crypto-shredded
// (see eventstore.Store.Erase), recorded as a LeadErased event in the operator's name.
func (s *Server) eraseLead(w http.ResponseWriter, r *http.Request) {
	id, ok := s.leadID(w, r)
	if !ok {
		return
	}
	erasure, already, err := s.log.Erase(r.Context(), id, tokenName(r))
	switch {
	case errors.Is(err, domain.ErrNotFound):
		writeError(w, http.StatusNotFound, "Unknown lead")
		return
	case err != nil:
		s.internalError(w, "erase lead", err)
		return
	}
	var who domain.Erasure
	if err := json.Unmarshal(erasure.Raw, &who); err != nil {
		s.internalError(w, "read the erasure", err)
		return
	}
	s.cfg.Logger.Info("lead erased", "lead_id", id, "event_id", erasure.ID, "erased_by", who.ErasedBy, "already_erased", already)
	writeJSON(w, http.StatusOK, struct {
		LeadID        uuid.UUID `json:"lead_id"`
		EventID       uuid.UUID `json:"event_id"`
		Position      int64     `json:"position"`
		ErasedBy      string    `json:"erased_by"`
		ErasedAt      time.Time `json:"erased_at"`
		AlreadyErased bool      `json:"already_erased"`
	}{id, erasure.ID, erasure.Position, who.ErasedBy, who.ErasedAt, already})
}
