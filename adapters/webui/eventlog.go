package webui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

const eventsPerPage = 50

type eventsData struct {
	Head       int64
	Events     []domain.Event
	Older      string // the next page's address; "" at the log's start
	Newest     bool   // this page starts at the head
	Checkpoint checkpointCheck
}

// eventsPage is GET /ui/events?before=N: the log, newest first, a page of events before a
// position (the head by default).
func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := r.Context()
	head, err := h.log.Head(ctx)
	if err != nil {
		h.internalError(w, r, "read the log's head", err)
		return
	}
	before := head + 1
	if s := r.URL.Query().Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			h.fail(w, r, http.StatusBadRequest, "The page's position must be a whole number of at least 1.")
			return
		}
		before = min(n, head+1)
	}
	d := eventsData{Head: head, Newest: before > head}
	var next int64
	if d.Events, next, err = h.newestFirst(ctx, before, eventsPerPage); err != nil {
		h.internalError(w, r, "read the log", err)
		return
	}
	if next > 0 {
		d.Older = fmt.Sprintf("/ui/events?before=%d", next)
	}
	if d.Checkpoint, err = h.latestCheckpoint(ctx); err != nil {
		h.internalError(w, r, "check the latest checkpoint", err)
		return
	}
	h.show(w, v, "events", "Event log", "events", d)
}

// newestFirst reads up to limit events at positions below before, newest first, and the
// position the next (older) page starts before, 0 when none is left. The log is read oldest
// first, so it is read back a window of positions at a time; positions may skip numbers (a
// transaction that rolled back), so a window can hold fewer events than positions, and it
// doubles while it does.
func (h *Handler) newestFirst(ctx context.Context, before int64, limit int) ([]domain.Event, int64, error) {
	var out []domain.Event
	hi, window := before-1, int64(limit)
	for len(out) < limit && hi > 0 {
		lo := max(hi-window, 0)
		page, err := h.log.ReadAll(ctx, lo, int(hi-lo), eventstore.Filter{UpTo: hi})
		if err != nil {
			return nil, 0, err
		}
		slices.Reverse(page)
		out = append(out, page...)
		hi, window = lo, min(2*window, 1<<14)
	}
	if len(out) > limit {
		out = out[:limit]
		return out, out[limit-1].Position, nil
	}
	if hi > 0 && len(out) > 0 {
		return out, out[len(out)-1].Position, nil
	}
	return out, 0, nil
}
