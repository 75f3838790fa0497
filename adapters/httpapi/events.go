package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// eventJSON is an event as the read API shows it: the normalised data, and the body exactly as
// received with its SHA-256, so anyone can check what was stored.
type eventJSON struct {
	ID         uuid.UUID       `json:"id"`
	Position   int64           `json:"position"`
	Version    int64           `json:"version"`
	Type       string          `json:"type"`
	LeadID     uuid.UUID       `json:"lead_id"`
	Source     string          `json:"source"`
	Vendor     string          `json:"vendor"`
	ReceivedAt time.Time       `json:"received_at"`
	OccurredAt string          `json:"occurred_at"`
	Data       domain.LeadData `json:"data"`
	Raw        string          `json:"raw"`
	RawSHA256  string          `json:"raw_sha256"`
	Hash       string          `json:"hash"`
	Erased     bool            `json:"erased,omitempty"`
}

func toEventJSON(e domain.Event) eventJSON {
	return eventJSON{
		ID: e.ID, Position: e.Position, Version: e.Version, Type: string(e.Type), LeadID: e.LeadID,
		Source: e.Source, Vendor: e.Vendor, ReceivedAt: e.ReceivedAt, OccurredAt: e.OccurredAt,
		Data: e.Data, Raw: string(e.Raw), RawSHA256: e.RawSHA256, Hash: e.Hash, Erased: e.Erased,
	}
}

const (
	defaultLimit = 100
	maxLimit     = 1000
	// maxListValues bounds a list filter, which becomes one SQL placeholder per value, well
	// below the databases' limits (65,535 on PostgreSQL, 32,766 on SQLite).
	maxListValues = 100
)

// listEvents is GET /v1/events?after=&limit=&type=&source=: the global log in position order.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := intParam(q.Get("after"), 0)
	if err != nil || after < 0 {
		writeError(w, http.StatusBadRequest, "Invalid after: must be a position, an integer >= 0")
		return
	}
	limit, err := intParam(q.Get("limit"), defaultLimit)
	if err != nil || limit < 1 || limit > maxLimit {
		writeError(w, http.StatusBadRequest, "Invalid limit: must be an integer from 1 to 1000")
		return
	}
	f, problem := eventFilter(q)
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	events, err := s.log.ReadAll(r.Context(), after, int(limit), f)
	if err != nil {
		s.internalError(w, "read log", err)
		return
	}
	out := make([]eventJSON, len(events))
	next := after
	for i, e := range events {
		out[i] = toEventJSON(e)
		next = e.Position
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_after": next})
}

// eventFilter reads the type and source filters of GET /v1/events and its stream; a problem
// is the message of a 400.
func eventFilter(q url.Values) (f eventstore.Filter, problem string) {
	types, sources := splitList(q["type"]), splitList(q["source"])
	for _, list := range []struct {
		name   string
		values []string
	}{{"type", types}, {"source", sources}} {
		if len(list.values) > maxListValues {
			return f, fmt.Sprintf("Invalid %s: at most %d values, got %d", list.name, maxListValues, len(list.values))
		}
	}
	for _, t := range types {
		if !domain.EventType(t).Valid() {
			return f, "Invalid type: " + strconv.Quote(t) + " is not an event type"
		}
		f.Types = append(f.Types, domain.EventType(t))
	}
	f.Sources = sources
	return f, ""
}

func intParam(v string, def int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// splitList accepts both ?type=a&type=b and ?type=a,b.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
