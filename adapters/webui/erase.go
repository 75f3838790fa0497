package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// erasureNotice is what a lead's page says of the erasure of its personal data: the newest
// LeadErased event of its history.
type erasureNotice struct {
	EventID  uuid.UUID
	Position int64
	By       string
	At       time.Time
	Erased   int // the lead's events whose raw body and data are gone
}

// erasureIn finds the newest erasure in a lead's history; nil when it was never erased.
func erasureIn(events []domain.Event) *erasureNotice {
	var n *erasureNotice
	erased := 0
	for _, e := range events {
		if e.Erased {
			erased++
		}
		if e.Type == domain.LeadErased {
			who := erasureOf(e)
			n = &erasureNotice{EventID: e.ID, Position: e.Position, By: who.ErasedBy, At: who.ErasedAt}
		}
	}
	if n != nil {
		n.Erased = erased
	}
	return n
}

// erasureOf reads who asked for an erasure and when from its LeadErased event's body (stored
// unsealed: it holds no personal data). A body that does not read still dates the erasure,
// by the event's receipt, which is the same time.
func erasureOf(e domain.Event) domain.Erasure {
	var who domain.Erasure
	_ = json.Unmarshal(e.Raw, &who)
	if who.ErasedAt.IsZero() {
		who.ErasedAt = e.ReceivedAt
	}
	return who
}

// eraseLead is POST /ui/leads/{id}/erase (operators): the same Erase the API's
// POST /v1/leads/{id}/erase calls, in the signed-in token's name. The form asks for the lead's
// id typed out, so that a stray click or a form posted for another lead erases nothing: the
// browser checks it (the input's pattern, no script needed) and so does this.
func (h *Handler) eraseLead(w http.ResponseWriter, r *http.Request, v visit) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "There is no such lead.")
		return
	}
	page := "/ui/leads/" + id.String()
	if !strings.EqualFold(strings.TrimSpace(r.PostFormValue("confirm")), id.String()) {
		h.sessions.setFlash(v.id, flash{Text: "Nothing was erased: type the lead's id to confirm the erasure.", Error: true})
		http.Redirect(w, r, page+"#erase", http.StatusSeeOther)
		return
	}
	e, already, err := h.log.Erase(r.Context(), id, v.name)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "There is no such lead.")
		return
	case err != nil:
		h.internalError(w, r, "erase the lead", err)
		return
	}
	who := erasureOf(e)
	text := "This lead's personal data was erased. Its events stay in the log, unreadable; their hashes and proofs still verify."
	if already {
		text = fmt.Sprintf("This lead's personal data was already erased, on %s by %s.", formatTime(who.ErasedAt), who.ErasedBy)
	}
	h.sessions.setFlash(v.id, flash{Text: text})
	// Ids only: the log must not keep what was just erased.
	h.cfg.Logger.Info("ui lead erased", "user", v.name, "lead", id, "event", e.ID, "position", e.Position, "already_erased", already)
	http.Redirect(w, r, page, http.StatusSeeOther)
}
