package httpapi

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/gorilla/mux"
)

// MetricsAccess says where /metrics is served and who may read it.
type MetricsAccess struct {
	// Separate serves /metrics only through MetricsHandler, on a listener of its own; the main
	// handler then answers 404 for it.
	Separate bool
	// Tokens, when any, must come as Authorization: Bearer on /metrics, wherever it is served.
	// Without any, /metrics on the main listener answers loopback clients only (403 to others),
	// and on a listener of its own answers whoever can reach that address.
	Tokens []string
}

// MetricsHandler serves /metrics alone, for the listener of its own that Metrics.Separate asks for.
func (s *Server) MetricsHandler() http.Handler {
	r := mux.NewRouter().SkipClean(true)
	r.Handle("/metrics", methods{http.MethodGet: s.metricsHandler()})
	r.NotFoundHandler = http.HandlerFunc(notFound)
	return s.accessLog(r)
}

// metricsAccess lets through the /metrics requests MetricsAccess allows.
func (s *Server) metricsAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.cfg.Metrics
		switch {
		case len(m.Tokens) > 0:
			scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || !anySecret(token, m.Tokens) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				writeError(w, http.StatusUnauthorized, "Missing or invalid bearer token for /metrics")
				return
			}
		case !m.Separate && !fromLoopback(r):
			writeError(w, http.StatusForbidden, "/metrics answers loopback clients only: configure metrics.token_env "+
				"(a bearer token) or metrics.listen (a listener of its own) to scrape it from elsewhere")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether the client is on this host and came through no proxy: a reverse
// proxy on this host connects from loopback on behalf of anyone, and says so in these headers.
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && addr.Addr().Unmap().IsLoopback()
}
