package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"
)

// openAPIYAML describes every /v1 route: kept in YAML for people, served as JSON.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIJSON is the API's OpenAPI 3.1 document as JSON.
var OpenAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// openAPI is GET /v1/openapi.json, public: it describes the API and holds nothing secret.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	doc, err := OpenAPIJSON()
	if err != nil {
		s.internalError(w, "encode the OpenAPI document", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}
