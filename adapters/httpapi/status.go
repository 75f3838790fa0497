package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/projections"
)

// leaseJSON is a cursor some process delivers from, in GET /v1/status.
type leaseJSON struct {
	Kind     string    `json:"kind"` // sink or replay
	ID       uuid.UUID `json:"id"`
	SinkID   uuid.UUID `json:"sink_id"`
	SinkName string    `json:"sink_name"`
	Holder   string    `json:"holder"`
	Until    time.Time `json:"lease_until"`
}

// status is GET /v1/status: the log's head, how far each projection has come, and which
// process holds the lead view and each sink's and replay's cursor (several processes may
// share one database; a lease that lapsed is nobody's until another process takes it).
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	head, err := s.log.Head(ctx)
	if err != nil {
		s.internalError(w, "read log head", err)
		return
	}
	pos, err := s.cfg.Leads.Position(ctx)
	if err != nil {
		s.internalError(w, "read lead view position", err)
		return
	}
	failed, err := s.cfg.Leads.FailedEvents(ctx)
	if err != nil {
		s.internalError(w, "count failed events", err)
		return
	}
	holder, held, err := s.cfg.Leads.Holder(ctx)
	if err != nil {
		s.internalError(w, "read lead view lease", err)
		return
	}
	view := map[string]any{"name": projections.LeadViewGroup, "position": pos, "lag": max(head-pos, 0),
		"failed_events": failed, "holder": nil, "lease_until": nil}
	if held {
		view["holder"], view["lease_until"] = holder.Owner, holder.Until.UTC()
	}
	leases := []leaseJSON{}
	if s.cfg.Sinks != nil {
		held, err := s.cfg.Sinks.Leases(ctx)
		if err != nil {
			s.internalError(w, "read cursor leases", err)
			return
		}
		for _, l := range held {
			leases = append(leases, leaseJSON{Kind: l.Kind, ID: l.ID, SinkID: l.SinkID, SinkName: l.SinkName,
				Holder: l.Owner, Until: l.Until.UTC()})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"head": head, "process": s.log.Instance(), "projections": []map[string]any{view}, "leases": leases,
	})
}
