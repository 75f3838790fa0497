package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// statusRecorder remembers the status a handler wrote, for the access log and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
	// reported marks a reply whose cause is logged elsewhere, as a database outage is.
	reported bool
}

// reportedElsewhere keeps the access-log line of a reply at INFO: its cause has its own lines
// (an outage: one when it starts, a count while it lasts, one when it ends).
func reportedElsewhere(w http.ResponseWriter) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.reported = true
	}
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection (an export moves its write
// deadline on).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessLog logs one line per request. It logs the path without its query (a url_token source
// carries its secret there) and no header at all (Authorization, webhook secrets).
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.cfg.Logger.LogAttrs(r.Context(), rec.level(), "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}

// level is ERROR for a server fault, WARN for a 503 (the ledger asks the caller to come back),
// INFO for the rest and for replies whose cause is reported elsewhere.
func (r *statusRecorder) level() slog.Level {
	switch {
	case r.reported || r.status < 500:
		return slog.LevelInfo
	case r.status == http.StatusServiceUnavailable:
		return slog.LevelWarn
	}
	return slog.LevelError
}
