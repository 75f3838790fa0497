package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
)

// sinkAction is POST /ui/sinks/{id}/{act} (operators): pause, resume, replay (the whole log,
// from the beginning) or retry (the sink's failures). The same registry calls as the admin
// API's; the result is told on the sinks page it goes back to.
func (h *Handler) sinkAction(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := r.Context()
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "There is no such sink.")
		return
	}
	var done string
	var s sinks.Sink
	switch r.PathValue("act") {
	case "pause":
		if s, err = h.cfg.Sinks.Pause(ctx, id); err == nil {
			done = fmt.Sprintf("%s is %s.", s.Name, s.Status)
		}
	case "resume":
		if s, err = h.cfg.Sinks.Resume(ctx, id); err == nil {
			done = fmt.Sprintf("%s is %s.", s.Name, s.Status)
		}
	case "replay":
		from := int64(0)
		var rp sinks.Replay
		if rp, err = h.cfg.Sinks.StartReplay(ctx, id, sinks.NewReplay{FromPosition: &from}); err == nil {
			done = fmt.Sprintf("A replay of the log from the beginning started: %d events, up to position %d.", rp.Total, rp.ToPosition)
		}
	case "retry":
		var n int64
		if n, err = h.cfg.Sinks.RetryFailures(ctx, id); err == nil {
			done = fmt.Sprintf("%d failures will be tried again.", n)
		}
	default:
		h.fail(w, r, http.StatusNotFound, "There is no such action.")
		return
	}
	if !h.sinkOutcome(w, r, v, err, done) {
		return
	}
	h.cfg.Logger.Info("ui sink action", "user", v.name, "sink", id, "action", r.PathValue("act"))
	http.Redirect(w, r, "/ui/sinks#sink-"+id.String(), http.StatusSeeOther)
}

// createSink is POST /ui/sinks (operators): a webhook sink. CRM and NATS sinks take a JSON
// configuration and are made through the API.
func (h *Handler) createSink(w http.ResponseWriter, r *http.Request, v visit) {
	n := sinks.NewSink{Name: strings.TrimSpace(r.PostFormValue("name")), Type: sinks.TypeWebhook,
		URL: strings.TrimSpace(r.PostFormValue("url")), Secret: strings.TrimSpace(r.PostFormValue("secret")),
		Start: r.PostFormValue("start")}
	s, err := h.cfg.Sinks.Create(r.Context(), n)
	if !h.sinkOutcome(w, r, v, err, fmt.Sprintf("Sink %s was created.", n.Name)) {
		return
	}
	h.cfg.Logger.Info("ui sink created", "user", v.name, "sink", s.ID, "name", s.Name, "origin", s.Origin())
	http.Redirect(w, r, "/ui/sinks#sink-"+s.ID.String(), http.StatusSeeOther)
}

// sinkOutcome leaves the result of an action for the sinks page; false means a reply was
// written instead. A refused request (an invalid field) goes back to the page with why.
func (h *Handler) sinkOutcome(w http.ResponseWriter, r *http.Request, v visit, err error, done string) bool {
	switch {
	case err == nil:
		h.sessions.setFlash(v.id, flash{Text: done})
		return true
	case errors.Is(err, sinks.ErrInvalid):
		h.sessions.setFlash(v.id, flash{Text: strings.TrimPrefix(err.Error(), sinks.ErrInvalid.Error()+": "), Error: true})
		http.Redirect(w, r, "/ui/sinks", http.StatusSeeOther)
	case errors.Is(err, domain.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "There is no such sink.")
	default:
		h.internalError(w, r, "change the sink", err)
	}
	return false
}
