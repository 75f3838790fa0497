package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/vendors"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

// ingestReply acknowledges a stored webhook: Conversica's reply plus what the ledger made of it.
type ingestReply struct {
	reply
	EventID  uuid.UUID `json:"event_id"`
	LeadID   uuid.UUID `json:"lead_id"`
	Position int64     `json:"position"`
}

// ingest is POST /v1/ingest/{source}: authenticate, read, parse, append, and only then 200.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	sourceID := mux.Vars(r)["source"]
	status := s.ingestStatus(w, r, sourceID)
	label := sourceID
	if _, ok := s.sources[sourceID]; !ok {
		label = "unknown" // never let callers create metric series at will
	}
	s.metrics.ingested.WithLabelValues(label, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(label).Observe(time.Since(start).Seconds())
}

func (s *Server) ingestStatus(w http.ResponseWriter, r *http.Request, sourceID string) int {
	src, ok := s.sources[sourceID]
	if !ok {
		return fail(w, http.StatusNotFound, "Unknown source")
	}
	receivedAt := s.cfg.Now()
	// Credentials that do not depend on the body are checked before a stranger's body is read;
	// the rate limit only after them, so that a stranger cannot use up a vendor's limit.
	if !needsBody(src.Auth) {
		if !authenticate(src.Auth, r, nil, receivedAt) {
			return fail(w, http.StatusUnauthorized, "Invalid credentials")
		}
		if !s.limits.allow(w, "source", src.ID) {
			return http.StatusTooManyRequests
		}
	}
	body, status, msg := s.readBody(r)
	if status != 0 {
		return fail(w, status, msg)
	}
	if needsBody(src.Auth) {
		if !authenticate(src.Auth, r, body, receivedAt) {
			return fail(w, http.StatusUnauthorized, "Invalid credentials")
		}
		if !s.limits.allow(w, "source", src.ID) {
			return http.StatusTooManyRequests
		}
	}

	parsed, err := parse(src.Vendor, body)
	if err != nil {
		var invalid *domain.InvalidPayloadError
		if !errors.As(err, &invalid) {
			s.cfg.Logger.Error("parse webhook", "source", src.ID, "err", err)
			return fail(w, http.StatusInternalServerError, "Could not read the webhook")
		}
		s.keepRejection(r.Context(), src, body, invalid.Error(), receivedAt)
		return fail(w, http.StatusBadRequest, invalid.Error())
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.AppendTimeout)
	defer cancel()
	stored, err := s.log.Append(ctx, domain.NewEvent(src.ID, src.Vendor, parsed, body, receivedAt))
	if err != nil {
		return s.appendFailed(w, src, err)
	}
	s.outage.stored()
	e := stored[0]
	writeJSON(w, http.StatusOK, ingestReply{
		reply:   reply{Status: "200", Message: "Lead received successfully"},
		EventID: e.ID, LeadID: e.LeadID, Position: e.Position,
	})
	return http.StatusOK
}

// appendFailed answers a webhook the log did not take. An unavailable or too slow database is a
// 503 the vendor may retry a second later, and counts towards one outage report rather than a
// line per webhook; anything else is a 500, logged with its cause.
func (s *Server) appendFailed(w http.ResponseWriter, src config.Source, err error) int {
	retryable := func(msg string) int {
		w.Header().Set("Retry-After", "1")
		return fail(w, http.StatusServiceUnavailable, msg)
	}
	switch {
	case errors.Is(err, eventstore.ErrClosed):
		return retryable("The ledger is shutting down; the lead was not recorded, please retry")
	case errors.Is(err, context.DeadlineExceeded):
		s.outage.refuse(err)
		reportedElsewhere(w)
		// The commit may still complete: a vendor that retries may then be stored twice, and both are kept.
		return retryable("The ledger could not confirm storing the lead in time; please retry")
	case errors.Is(err, eventstore.ErrUnavailable):
		s.outage.refuse(err)
		reportedElsewhere(w)
		return retryable("The ledger's database is unavailable; please retry")
	}
	s.cfg.Logger.Error("append webhook", "source", src.ID, "err", err)
	return fail(w, http.StatusInternalServerError, "The ledger could not store the lead; please retry")
}

// readBody reads the capped body. A non-zero status means the body is refused.
func (s *Server) readBody(r *http.Request) (body []byte, status int, msg string) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := fmt.Sprintf("Body exceeds the limit of %d bytes", limit)
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case err != nil:
		return nil, http.StatusBadRequest, "Could not read the request body"
	}
	return body, 0, ""
}

// parse turns a body into a parsed event; every refusal is a *domain.InvalidPayloadError.
func parse(vendor string, body []byte) (domain.Parsed, error) {
	if len(body) == 0 {
		return domain.Parsed{}, domain.InvalidBody("Empty body: a JSON object is required")
	}
	if !utf8.Valid(body) {
		return domain.Parsed{}, domain.InvalidBody("Body is not valid UTF-8")
	}
	parser, ok := vendors.ForVendor(vendor)
	if !ok {
		return domain.Parsed{}, fmt.Errorf("no parser for vendor %q", vendor)
	}
	return parser(body)
}

// keepRejection stores an authenticated but invalid body as evidence. The vendor still gets
// its 400: a failure here is logged, not turned into a 500 that might invite a retry loop.
func (s *Server) keepRejection(ctx context.Context, src config.Source, body []byte, reason string, at time.Time) {
	rej := domain.NewRejectedWebhook(src.ID, src.Vendor, body, reason, at)
	if err := s.log.RecordRejection(ctx, rej); err != nil {
		s.cfg.Logger.Error("keep rejected webhook", "source", src.ID, "err", err)
	}
}

func fail(w http.ResponseWriter, status int, msg string) int {
	writeError(w, status, msg)
	return status
}
