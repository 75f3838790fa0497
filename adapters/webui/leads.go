package webui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/projections"
)

const leadsPerPage = 50

type leadsData struct {
	Email, Query, Source string
	Sources              []string
	Searched             bool
	Leads                []leadRow
	Next                 string // the next page's address; "" on the last
}

// leadRow is a lead as the search lists it.
type leadRow struct {
	ID                                          uuid.UUID
	Name, Email, Phone, Company, Source, Status string
	Spam                                        bool
	UpdatedAt                                   time.Time
	EventCount                                  int
}

func toLeadRow(l domain.Lead) leadRow {
	return leadRow{ID: l.ID, Name: displayName(l), Email: l.Email, Phone: l.Phone, Company: l.Company,
		Source: l.Source, Status: l.Status, Spam: l.Spam, UpdatedAt: l.UpdatedAt, EventCount: l.EventCount}
}

// displayName is the best name a lead has.
func displayName(l domain.Lead) string {
	if l.Name != "" {
		return l.Name
	}
	if n := strings.TrimSpace(l.FirstName + " " + l.LastName); n != "" {
		return n
	}
	return "(no name)"
}

// leadsPage is GET /ui/leads?email=&q=&source=&cursor=: the lead view's own search (an email
// matched as the view normalises it, a part of a name, email, phone or company, a source).
func (h *Handler) leadsPage(w http.ResponseWriter, r *http.Request, v visit) {
	q := r.URL.Query()
	d := leadsData{Email: strings.TrimSpace(q.Get("email")), Query: strings.TrimSpace(q.Get("q")),
		Source: q.Get("source"), Sources: h.cfg.Sources}
	d.Searched = d.Email != "" || d.Query != "" || d.Source != ""
	leads, next, err := h.cfg.Leads.Leads(r.Context(), projections.LeadFilter{Email: d.Email, Query: d.Query,
		Source: d.Source, Limit: leadsPerPage, Cursor: q.Get("cursor")})
	if errors.Is(err, projections.ErrBadCursor) {
		h.fail(w, r, http.StatusBadRequest, "That page link is not valid; please search again.")
		return
	}
	if err != nil {
		h.internalError(w, r, "search leads", err)
		return
	}
	for _, l := range leads {
		d.Leads = append(d.Leads, toLeadRow(l))
	}
	if next != "" {
		d.Next = "/ui/leads?" + queryOf("email", d.Email, "q", d.Query, "source", d.Source, "cursor", next)
	}
	h.show(w, v, "leads", "Leads", "leads", d)
}

// queryOf encodes name/value pairs, leaving out the empty ones.
func queryOf(pairs ...string) string {
	values := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			values.Set(pairs[i], pairs[i+1])
		}
	}
	return values.Encode()
}
