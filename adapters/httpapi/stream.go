package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

const (
	// streamPage is the most events one read of a stream takes: a stream far behind catches up
	// a page at a time, without waiting between pages.
	streamPage = 500
	// streamStall is how long a stream's client may leave a write unread before it is cut.
	streamStall = 30 * time.Second
)

// streamEvents is GET /v1/events/stream: Server-Sent Events of the log after a position (the
// after parameter, or Last-Event-ID when a client reconnects), then of each event appended.
//
// New events are found by polling the log every StreamPoll: appends from other processes on
// the same PostgreSQL never pass through this one, so an in-process signal would miss them,
// and a poll that finds nothing new costs one MAX("offset") on the index. Each poll reads up to
// the head it read first; appends commit in position order, so nothing below it can appear
// later, and a filtered stream moves past what it did not match instead of reading it again.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// A reconnecting EventSource sends the original URL again: its Last-Event-ID is the resume point.
	name, value := "after", q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		name, value = "Last-Event-ID", id
	}
	after, err := intParam(value, 0)
	if err != nil || after < 0 {
		writeError(w, http.StatusBadRequest, "Invalid "+name+": must be a position, an integer >= 0")
		return
	}
	f, problem := eventFilter(q)
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	// The first read answers an unavailable database with a 503, before the stream begins.
	page, err := s.streamRead(r, after, f)
	if err != nil {
		s.internalError(w, "read log", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // a proxy such as nginx must not hold events back
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// The server's write timeout would cut the stream: each write moves its deadline on instead.
	rc := http.NewResponseController(w)

	poll := time.NewTicker(s.cfg.StreamPoll)
	defer poll.Stop()
	lastWrite := time.Time{}
	for {
		var out []byte
		if lastWrite.IsZero() {
			out = append(out, ": stream of the log\n\n"...) // the headers reach the client at once
		}
		for _, e := range page.events {
			data, err := json.Marshal(toEventJSON(e))
			if err != nil {
				s.cfg.Logger.Error("encode event", "position", e.Position, "err", err)
				return
			}
			out = fmt.Appendf(out, "id: %d\nevent: %s\ndata: %s\n\n", e.Position, e.Type, data)
		}
		if len(out) == 0 && time.Since(lastWrite) >= s.cfg.StreamKeepAlive {
			out = append(out, ": keep-alive\n\n"...)
		}
		if len(out) > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(streamStall))
			if _, err := w.Write(out); err != nil {
				return // the client went, or stopped reading
			}
			if err := rc.Flush(); err != nil {
				return
			}
			lastWrite = time.Now()
		}
		after = page.next
		next := poll.C
		if page.full {
			next = now // catching up: the next page at once, unless the stream is to end
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.streamsClosing:
			return
		case <-next:
		}
		if page, err = s.streamRead(r, after, f); err != nil {
			if r.Context().Err() == nil {
				s.cfg.Logger.Warn("event stream ended: read log", "err", err)
			}
			return // the client reconnects with Last-Event-ID
		}
	}
}

// now is always ready: a select on it does not wait.
var now = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// streamBatch is what one poll of a stream read.
type streamBatch struct {
	events []domain.Event
	next   int64 // the position read up to: the next read starts after it
	full   bool  // more may follow at once
}

// streamRead reads the events after a position that match f, up to the head as it reads it.
func (s *Server) streamRead(r *http.Request, after int64, f eventstore.Filter) (streamBatch, error) {
	head, err := s.log.Head(r.Context())
	if err != nil || head <= after {
		return streamBatch{next: after}, err
	}
	f.UpTo = head
	events, err := s.log.ReadAll(r.Context(), after, streamPage, f)
	if err != nil {
		return streamBatch{}, err
	}
	if len(events) == streamPage {
		return streamBatch{events: events, next: events[len(events)-1].Position, full: true}, nil
	}
	return streamBatch{events: events, next: head}, nil
}

// CloseStreams ends every event stream, now and from now on: for a server shutting down, which
// waits for handlers to return (http.Server.RegisterOnShutdown).
func (s *Server) CloseStreams() { s.closeStreams.Do(func() { close(s.streamsClosing) }) }
