package webui

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/leadledger/leadledger/adapters/sinks"
)

// replaysShown is how many of a sink's replays its card lists, newest first.
const replaysShown = 3

type sinksData struct {
	Head  int64
	Sinks []sinkCard
}

// sinkCard is a sink as the sinks page shows it: never its secret, its URL redacted.
type sinkCard struct {
	ID        uuid.UUID
	Name      string
	Type      string
	Mode      string
	URL       string
	Status    sinks.Status
	Position  int64
	Lag       int64
	Delivered int64
	Failed    int64
	LastError string
	RetryAt   *time.Time
	CreatedAt time.Time
	CanPause  bool
	CanResume bool
	Replays   []replayLine
	MoreCount int // replays not listed
}

type replayLine struct {
	ID         uuid.UUID
	Status     sinks.ReplayStatus
	From, To   int64
	Done       int64 // delivered and given up
	Delivered  int64
	Failed     int64
	Total      int64
	Percent    int
	Rate       string
	ETA        string
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// sinksPage is GET /ui/sinks: every sink with its status, lag and replays; operators get the
// buttons.
func (h *Handler) sinksPage(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := r.Context()
	list, err := h.cfg.Sinks.Sinks(ctx)
	if err != nil {
		h.internalError(w, r, "list sinks", err)
		return
	}
	head, err := h.log.Head(ctx)
	if err != nil {
		h.internalError(w, r, "read the log's head", err)
		return
	}
	d := sinksData{Head: head}
	now := h.cfg.Now()
	for _, s := range list {
		replays, err := h.cfg.Sinks.Replays(ctx, s.ID)
		if err != nil {
			h.internalError(w, r, "list a sink's replays", err)
			return
		}
		d.Sinks = append(d.Sinks, toSinkCard(s, head, replays, now))
	}
	h.show(w, v, "sinks", "Sinks", "sinks", d)
}

func toSinkCard(s sinks.Sink, head int64, replays []sinks.Replay, now time.Time) sinkCard {
	c := sinkCard{ID: s.ID, Name: s.Name, Type: s.Type, Mode: s.Mode, URL: s.RedactedURL(), Status: s.Status,
		Position: s.Position, Lag: max(head-s.Position, 0), Delivered: s.Delivered, Failed: s.Failed,
		LastError: s.LastError, RetryAt: s.RetryAt, CreatedAt: s.CreatedAt,
		CanPause:  s.Status == sinks.StatusActive || s.Status == sinks.StatusFailing,
		CanResume: s.Status != sinks.StatusActive}
	slices.Reverse(replays) // the registry lists them oldest first
	if len(replays) > replaysShown {
		c.MoreCount = len(replays) - replaysShown
		replays = replays[:replaysShown]
	}
	for _, rp := range replays {
		c.Replays = append(c.Replays, toReplayLine(rp, now))
	}
	return c
}

func toReplayLine(rp sinks.Replay, now time.Time) replayLine {
	l := replayLine{ID: rp.ID, Status: rp.Status, From: rp.FromPosition, To: rp.ToPosition, Done: rp.Delivered + rp.Failed,
		Delivered: rp.Delivered, Failed: rp.Failed, Total: rp.Total, CreatedAt: rp.CreatedAt, FinishedAt: rp.FinishedAt}
	if rp.Total > 0 {
		l.Percent = int(min(100*l.Done/rp.Total, 100))
	} else if rp.Status == sinks.ReplayCompleted {
		l.Percent = 100
	}
	rate, eta := rp.Progress(now)
	l.Rate = fmt.Sprintf("%.0f events/s", rate)
	if eta != nil {
		l.ETA = time.Duration(*eta * float64(time.Second)).Round(time.Second).String()
	}
	return l
}
