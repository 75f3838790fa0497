package webui

import (
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// Mount serves the UI at /ui and everything under it, and the rest with api. It matches the
// path as sent, without cleaning it: the API promises never to clean or redirect a path,
// which an http.ServeMux in front of it would do.
func Mount(ui, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/") {
			ui.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// cleanPathsOnly answers 404 to a path with dot segments, doubled slashes or escapes, rather
// than let the ServeMux redirect it somewhere else (a /ui/../v1 path would leave the UI).
func cleanPathsOnly(next http.Handler, h *Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if r.URL.RawPath != "" || path.Clean(p) != strings.TrimSuffix(p, "/") {
			h.fail(w, r, http.StatusNotFound, "There is no such page.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders keeps pages out of caches (they show personal data), out of frames
// (clickjacking an operator's button), and allows no script at all.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// accessLog logs one line per request: the path without its query (a search holds an email)
// and no header (the cookie is a session).
func (h *Handler) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if rec.status >= 500 && rec.status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
		h.cfg.Logger.LogAttrs(r.Context(), level, "ui request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}
