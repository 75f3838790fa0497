package httpapi

import (
	"net/http"
	"net/url"
)

// sourceJSON is a configured source as the read API shows it: what a vendor is told to call,
// never a credential. Only the shape of its authentication is shown: the type, the header's
// name for header_secret, and how many credentials are accepted (more than one: a rotation).
type sourceJSON struct {
	ID          string `json:"id"`
	Vendor      string `json:"vendor"`
	AuthType    string `json:"auth_type"`
	Header      string `json:"header,omitempty"`
	Credentials int    `json:"credentials"`
	IngestPath  string `json:"ingest_path"`
	Rejections  int    `json:"rejections"`
}

// listSources is GET /v1/sources: every configured source, in configuration order, with how
// many rejected webhooks it has (one index range each). Events are not counted: the log has no
// index by source, and counting would read it whole.
func (s *Server) listSources(w http.ResponseWriter, r *http.Request) {
	out := make([]sourceJSON, 0, len(s.cfg.Sources))
	for _, src := range s.cfg.Sources {
		n, err := s.log.CountRejections(r.Context(), src.ID)
		if err != nil {
			s.internalError(w, "count rejected webhooks", err)
			return
		}
		// standard_webhooks keeps its keys both as given and decoded: count them once.
		credentials := max(len(src.Auth.Secrets), len(src.Auth.SigningKeys))
		out = append(out, sourceJSON{ID: src.ID, Vendor: src.Vendor, AuthType: src.Auth.Type, Header: src.Auth.Header,
			Credentials: credentials, IngestPath: "/v1/ingest/" + url.PathEscape(src.ID), Rejections: n})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": out})
}
