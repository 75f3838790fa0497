package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadledger/leadledger/adapters/config"
)

func (s *Server) routes() http.Handler {
	return s.accessLog(s.router())
}

// router is every route, by path and method: openapi.yaml describes each /v1 one.
func (s *Server) router() *mux.Router {
	// SkipClean: a path is matched as sent, never cleaned and redirected, so
	// /v1/ingest/..%2f..%2fetc%2fpasswd is a 404, not a 301 to /etc/passwd.
	r := mux.NewRouter().SkipClean(true)
	auditor := s.api(config.RoleAuditor)
	operator := s.api(config.RoleOperator)
	route := func(path string, m methods) { r.Handle(path, m) }

	route("/healthz", methods{http.MethodGet: http.HandlerFunc(s.healthz)})
	route("/readyz", methods{http.MethodGet: http.HandlerFunc(s.readyz)})
	if !s.cfg.Metrics.Separate {
		route("/metrics", methods{http.MethodGet: s.metricsHandler()})
	}
	route("/v1/ingest/{source}", methods{http.MethodPost: http.HandlerFunc(s.ingest)})
	route("/v1/openapi.json", methods{http.MethodGet: http.HandlerFunc(s.openAPI)})

	route("/v1/events", methods{http.MethodGet: auditor(s.listEvents)})
	route("/v1/events/stream", methods{http.MethodGet: auditor(s.streamEvents)})
	route("/v1/rejections", methods{http.MethodGet: auditor(s.listRejections)})
	route("/v1/rejections/{id}", methods{http.MethodGet: auditor(s.getRejection)})
	route("/v1/sources", methods{http.MethodGet: auditor(s.listSources)})
	route("/v1/leads", methods{http.MethodGet: auditor(s.listLeads)})
	route("/v1/leads/{lead_id}", methods{http.MethodGet: auditor(s.getLead)})
	route("/v1/leads/{lead_id}/events", methods{http.MethodGet: auditor(s.leadEvents)})
	route("/v1/leads/{lead_id}/erase", methods{http.MethodPost: operator(s.eraseLead)})
	route("/v1/status", methods{http.MethodGet: auditor(s.status)})
	route("/v1/projections/lead_view/rebuild", methods{http.MethodPost: operator(s.rebuildLeadView)})
	if s.cfg.Audit != nil {
		route("/v1/checkpoints", methods{http.MethodGet: auditor(s.listCheckpoints)})
		route("/v1/checkpoints/latest", methods{http.MethodGet: auditor(s.latestCheckpoint)})
		route("/v1/checkpoints/public-key", methods{http.MethodGet: auditor(s.publicKey)})
		route("/v1/checkpoints/consistency", methods{http.MethodGet: auditor(s.consistency)})
		route("/v1/events/{id}/proof", methods{http.MethodGet: auditor(s.eventProof)})
		route("/v1/export", methods{http.MethodGet: auditor(s.exportLog)})
	}
	if a := s.cfg.Sinks; a != nil {
		route("/v1/sinks", methods{http.MethodGet: auditor(s.listSinks), http.MethodPost: operator(s.createSink)})
		route("/v1/sinks/{id}", methods{http.MethodGet: auditor(s.sinkAction(a.Sink)), http.MethodDelete: operator(s.deleteSink),
			http.MethodPatch: operator(s.patchSink)})
		route("/v1/sinks/{id}/secret", methods{http.MethodPost: operator(s.rotateSinkSecret)})
		route("/v1/sinks/{id}/test", methods{http.MethodPost: operator(s.testSink)})
		route("/v1/events/{id}/redeliver", methods{http.MethodPost: operator(s.redeliverEvent)})
		route("/v1/sinks/{id}/pause", methods{http.MethodPost: operator(s.sinkAction(a.Pause))})
		route("/v1/sinks/{id}/resume", methods{http.MethodPost: operator(s.sinkAction(a.Resume))})
		route("/v1/sinks/{id}/attempts", methods{http.MethodGet: auditor(s.sinkAttempts)})
		route("/v1/sinks/{id}/records", methods{http.MethodGet: auditor(s.sinkRecords)})
		route("/v1/sinks/{id}/failures", methods{http.MethodGet: auditor(s.sinkFailures)})
		route("/v1/sinks/{id}/failures/retry", methods{http.MethodPost: operator(s.retrySinkFailures)})
		route("/v1/sinks/{id}/replays", methods{http.MethodGet: auditor(s.listReplays), http.MethodPost: operator(s.startReplay)})
		route("/v1/replays/{id}", methods{http.MethodGet: auditor(s.replayAction(a.Replay))})
		route("/v1/replays/{id}/cancel", methods{http.MethodPost: operator(s.replayAction(a.CancelReplay))})
	}

	r.NotFoundHandler = http.HandlerFunc(notFound)
	return r
}

// api guards a read or admin handler: the bearer token's role first, then its parameters.
func (s *Server) api(role config.Role) func(http.HandlerFunc) http.Handler {
	return func(h http.HandlerFunc) http.Handler { return s.requireRole(role)(checkParams(h)) }
}

// metricsHandler serves the registry to the clients the configuration allows.
func (s *Server) metricsHandler() http.Handler {
	return s.metricsAccess(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
}

// methods is one path's handlers by HTTP method. Any other method is a 405 whose Allow header
// lists the ones the path has (a GET allows HEAD too, which net/http answers without a body).
type methods map[string]http.Handler

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := m[r.Method]
	if !ok && r.Method == http.MethodHead {
		h, ok = m[http.MethodGet]
	}
	if !ok {
		w.Header().Set("Allow", m.allow())
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed; this path takes "+m.allow())
		return
	}
	h.ServeHTTP(w, r)
}

func (m methods) allow() string {
	var allowed []string
	for method := range m {
		allowed = append(allowed, method)
		if method == http.MethodGet {
			allowed = append(allowed, http.MethodHead)
		}
	}
	slices.Sort(allowed)
	return strings.Join(allowed, ", ")
}
