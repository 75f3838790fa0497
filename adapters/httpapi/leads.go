package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/projections"
)

// LeadReader is what the read API needs of the lead view.
type LeadReader interface {
	Lead(ctx context.Context, id uuid.UUID) (domain.Lead, error)
	Leads(ctx context.Context, f projections.LeadFilter) ([]domain.Lead, string, error)
	Outcomes(ctx context.Context, leadID uuid.UUID) (projections.Outcomes, error)
	Position(ctx context.Context) (int64, error)
	WaitFor(ctx context.Context, position int64, timeout time.Duration) error
	FailedEvents(ctx context.Context) (int64, error)
	Rebuild(ctx context.Context) (projections.RebuildStats, error)
	Holder(ctx context.Context) (projections.Holder, bool, error)
}

// leadJSON is a lead as the read API shows it (CONTRACT.md, Lead).
type leadJSON struct {
	ID              uuid.UUID                  `json:"id"`
	Source          string                     `json:"source"`
	Vendor          string                     `json:"vendor"`
	ExternalID      string                     `json:"external_id"`
	FirstName       string                     `json:"first_name"`
	LastName        string                     `json:"last_name"`
	Name            string                     `json:"name"`
	Email           string                     `json:"email"`
	EmailNormalized string                     `json:"email_normalized"`
	Phone           string                     `json:"phone"`
	Company         string                     `json:"company"`
	Status          string                     `json:"status"`
	Score           *json.Number               `json:"score"`
	Spam            bool                       `json:"spam"`
	Duplicate       bool                       `json:"duplicate"`
	Attribution     map[string]string          `json:"attribution"`
	CustomFields    map[string]json.RawMessage `json:"custom_fields"`
	Conversations   []domain.Conversation      `json:"conversations"`
	CreatedAt       time.Time                  `json:"created_at"`
	UpdatedAt       time.Time                  `json:"updated_at"`
	EventCount      int                        `json:"event_count"`
	LastPosition    int64                      `json:"last_position"`
}

func toLeadJSON(l domain.Lead) leadJSON {
	out := leadJSON{
		ID: l.ID, Source: l.Source, Vendor: l.Vendor, ExternalID: l.ExternalID, FirstName: l.FirstName,
		LastName: l.LastName, Name: l.Name, Email: l.Email, EmailNormalized: l.EmailNormalized, Phone: l.Phone,
		Company: l.Company, Status: l.Status, Spam: l.Spam, Duplicate: l.Duplicate,
		Attribution: l.Attribution, CustomFields: l.CustomFields, Conversations: l.Conversations,
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, EventCount: l.EventCount, LastPosition: l.LastPosition,
	}
	if l.Score != "" {
		out.Score = &l.Score
	}
	if out.Attribution == nil {
		out.Attribution = map[string]string{}
	}
	if out.CustomFields == nil {
		out.CustomFields = map[string]json.RawMessage{}
	}
	if out.Conversations == nil {
		out.Conversations = []domain.Conversation{}
	}
	return out
}

// historyEventJSON is an event in a lead's history, with what the view made of it.
type historyEventJSON struct {
	eventJSON
	Applied    bool    `json:"applied"`
	SkipReason *string `json:"skip_reason"`
	Error      string  `json:"error,omitempty"`
}

// caughtUp waits for the view to reach ?min_position; false means a reply was written.
func (s *Server) caughtUp(w http.ResponseWriter, r *http.Request) bool {
	v := r.URL.Query().Get("min_position")
	if v == "" {
		return true
	}
	pos, err := intParam(v, 0)
	if err != nil || pos < 0 {
		writeError(w, http.StatusBadRequest, "Invalid min_position: must be a position, an integer >= 0")
		return false
	}
	if err := s.cfg.Leads.WaitFor(r.Context(), pos, s.cfg.ReadWaitTimeout); err != nil {
		if errors.Is(err, projections.ErrNotCaughtUp) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("The lead view has not reached position %d within %s; retry", pos, s.cfg.ReadWaitTimeout))
		} else {
			s.internalError(w, "wait for lead view", err)
		}
		return false
	}
	return true
}

func (s *Server) leadID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(mux.Vars(r)["lead_id"])
	if err != nil {
		writeError(w, http.StatusNotFound, "Unknown lead")
		return uuid.UUID{}, false
	}
	return id, true
}

// getLead is GET /v1/leads/{lead_id}.
func (s *Server) getLead(w http.ResponseWriter, r *http.Request) {
	id, ok := s.leadID(w, r)
	if !ok || !s.caughtUp(w, r) {
		return
	}
	lead, err := s.cfg.Leads.Lead(r.Context(), id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		writeError(w, http.StatusNotFound, "Unknown lead")
	case err != nil:
		s.internalError(w, "read lead", err)
	default:
		destinations, err := s.destinations(r.Context(), id)
		if err != nil {
			s.internalError(w, "read lead destinations", err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			leadJSON
			Destinations []destinationJSON `json:"destinations"`
		}{toLeadJSON(lead), destinations})
	}
}

// listLeads is GET /v1/leads?email=&source=&q=&limit=&cursor=.
func (s *Server) listLeads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), defaultLimit)
	if err != nil || limit < 1 || limit > maxLimit {
		writeError(w, http.StatusBadRequest, "Invalid limit: must be an integer from 1 to 1000")
		return
	}
	if !s.caughtUp(w, r) {
		return
	}
	leads, next, err := s.cfg.Leads.Leads(r.Context(), projections.LeadFilter{
		Email: q.Get("email"), Source: q.Get("source"), Query: q.Get("q"), Limit: int(limit), Cursor: q.Get("cursor"),
	})
	if errors.Is(err, projections.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "Invalid cursor: use the next_cursor of a previous page")
		return
	}
	if err != nil {
		s.internalError(w, "list leads", err)
		return
	}
	out := make([]leadJSON, len(leads))
	for i, l := range leads {
		out[i] = toLeadJSON(l)
	}
	writeJSON(w, http.StatusOK, map[string]any{"leads": out, "next_cursor": next})
}

// leadEvents is GET /v1/leads/{lead_id}/events: the lead's history in the order it was stored,
// with the raw bodies and what the view made of each event.
func (s *Server) leadEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := s.leadID(w, r)
	if !ok || !s.caughtUp(w, r) {
		return
	}
	events, err := s.log.ReadStream(r.Context(), id)
	if err != nil {
		s.internalError(w, "read lead history", err)
		return
	}
	if len(events) == 0 {
		writeError(w, http.StatusNotFound, "Unknown lead")
		return
	}
	outcomes, err := s.cfg.Leads.Outcomes(r.Context(), id)
	if err != nil {
		s.internalError(w, "read lead outcomes", err)
		return
	}
	out := make([]historyEventJSON, len(events))
	for i, e := range events {
		o := outcomes.Of(e.Position)
		out[i] = historyEventJSON{eventJSON: toEventJSON(e), Applied: o.Applied, Error: o.Error}
		if o.SkipReason != domain.SkipNone {
			reason := string(o.SkipReason)
			out[i].SkipReason = &reason
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	if eventstore.IsUnavailable(err) {
		s.cfg.Logger.Warn(what, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "The ledger's database is unavailable; please retry")
		return
	}
	s.cfg.Logger.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "Internal error: "+what+" failed")
}

// rebuildLeadView is POST /v1/projections/lead_view/rebuild (operator): drop the view and fold
// the whole log again. It answers when the new view is in place.
func (s *Server) rebuildLeadView(w http.ResponseWriter, r *http.Request) {
	stats, err := s.cfg.Leads.Rebuild(r.Context())
	if err != nil {
		s.internalError(w, "rebuild lead view", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": stats.Events, "leads": stats.Leads,
		"position": stats.Position, "seconds": stats.Took.Seconds()})
}
