package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/domain"
)

// errNoLead is a lead the log holds no event of.
var errNoLead = errors.New("no such lead")

type leadData struct {
	ID            uuid.UUID
	Name          string
	InView        bool // false: the view has not folded the lead's first event yet, or it was erased
	Erasure       *erasureNotice
	CanErase      bool // its newest event is not its erasure
	Fields        []field
	Attribution   []field
	CustomFields  []field
	Conversations []domain.Conversation
	Checkpoint    checkpointCheck
	Events        []timelineEntry
	SinksServed   bool
	Destinations  []sinks.Destination
	EventSinks    []eventSinkProgress
}

// eventSinkProgress is how far a sink that takes events (a webhook, NATS, a CRM in events
// mode) has come through this lead's events: its cursor moves past an event only once it was
// acknowledged or given up.
type eventSinkProgress struct {
	Name     string
	Status   sinks.Status
	Position int64
	Passed   int
	Matching int
}

// leadPage is GET /ui/leads/{id}: the lead's current view, its history with each event's
// outcome and proof, and where it was delivered.
func (h *Handler) leadPage(w http.ResponseWriter, r *http.Request, v visit) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "There is no such lead.")
		return
	}
	d, err := h.readLead(r.Context(), id)
	switch {
	case errors.Is(err, errNoLead):
		h.fail(w, r, http.StatusNotFound, "There is no such lead.")
	case err != nil:
		h.internalError(w, r, "read the lead", err)
	default:
		h.show(w, v, "lead", d.Name, "leads", d)
	}
}

// readLead reads everything the lead's page shows.
func (h *Handler) readLead(ctx context.Context, id uuid.UUID) (leadData, error) {
	// The view's position first: an event it reached has its outcome committed with it.
	reached, err := h.cfg.Leads.Position(ctx)
	if err != nil {
		return leadData{}, fmt.Errorf("read the lead view's position: %w", err)
	}
	events, err := h.log.ReadStream(ctx, id)
	if err != nil {
		return leadData{}, fmt.Errorf("read the history of lead %s: %w", id, err)
	}
	if len(events) == 0 {
		return leadData{}, errNoLead
	}
	d := leadData{ID: id, Name: "(not in the lead view yet)", SinksServed: h.cfg.Sinks != nil,
		Erasure: erasureIn(events), CanErase: events[len(events)-1].Type != domain.LeadErased}
	if d.Erasure != nil {
		d.Name = "Erased lead"
	}
	lead, err := h.cfg.Leads.Lead(ctx, id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return leadData{}, fmt.Errorf("read lead %s: %w", id, err)
	case d.Erasure != nil && lead.LastPosition <= d.Erasure.Position:
		// A row the view has not folded the erasure into yet, for a moment after it: what it
		// holds was erased, so it is not shown. A row made by events after the erasure is.
	default:
		d.InView, d.Name = true, displayName(lead)
		d.Fields, d.Attribution, d.CustomFields, d.Conversations = leadFields(lead), sortedFields(lead.Attribution),
			customFields(lead), lead.Conversations
	}
	outcomes, err := h.cfg.Leads.Outcomes(ctx, id)
	if err != nil {
		return leadData{}, fmt.Errorf("read the outcomes of lead %s: %w", id, err)
	}
	if d.Checkpoint, err = h.latestCheckpoint(ctx); err != nil {
		return leadData{}, err
	}
	effects := effectsOf(events, func(e domain.Event) bool { return outcomes.Of(e.Position).Error != "" })
	for i, e := range events {
		p, err := h.checkInclusion(ctx, d.Checkpoint, e)
		if err != nil {
			return leadData{}, err
		}
		entry := newTimelineEntry(e, outcomes.Of(e.Position), e.Position <= reached, p)
		prev, err := h.log.HashUpTo(ctx, e.Position-1)
		if err != nil {
			return leadData{}, fmt.Errorf("read the hash before position %d: %w", e.Position, err)
		}
		entry.Chain = chainCheck(prev, e)
		if entry.Outcome == "applied" {
			entry.Created, entry.Changes = effects[i].created, effects[i].changes
		}
		d.Events = append(d.Events, entry)
	}
	if h.cfg.Sinks == nil {
		return d, nil
	}
	if d.Destinations, err = h.cfg.Sinks.Destinations(ctx, id); err != nil {
		return leadData{}, fmt.Errorf("read where lead %s was delivered: %w", id, err)
	}
	if d.Erasure != nil && !d.InView {
		// A CRM record's key is usually the lead's normalised email: erased data, still kept
		// in the sinks' identity map. The page does not show it again.
		for i := range d.Destinations {
			d.Destinations[i].RecordKey = ""
		}
	}
	list, err := h.cfg.Sinks.Sinks(ctx)
	if err != nil {
		return leadData{}, fmt.Errorf("list sinks: %w", err)
	}
	d.EventSinks = eventSinks(list, events)
	return d, nil
}

func eventSinks(list []sinks.Sink, events []domain.Event) []eventSinkProgress {
	var out []eventSinkProgress
	for _, s := range list {
		if s.Mode != sinks.ModeEvents {
			continue
		}
		p := eventSinkProgress{Name: s.Name, Status: s.Status, Position: s.Position}
		for _, e := range events {
			if matches(s.Filter, e) {
				p.Matching++
				if e.Position <= s.Position {
					p.Passed++
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// matches says whether a sink's filter takes an event: empty lists take everything.
func matches(f sinks.Filter, e domain.Event) bool {
	return (len(f.Types) == 0 || slices.Contains(f.Types, e.Type)) &&
		(len(f.Sources) == 0 || slices.Contains(f.Sources, e.Source))
}
