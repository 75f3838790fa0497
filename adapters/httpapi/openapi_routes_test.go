package httpapi

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"

	"github.com/leadledger/leadledger/adapters/sinks"
)

// The OpenAPI document is valid OpenAPI 3.1, and it and the router agree: every /v1 route and
// method is described, and nothing described is missing from the router.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	if !spec.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1", spec.OpenAPI)
	}

	var registry *sinks.Registry // routes only: nothing is served
	s := &Server{cfg: Config{Sinks: registry, Audit: &Audit{}}}
	routed := map[string]bool{}
	err = s.router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(path, "/v1/") {
			return nil
		}
		for method := range route.GetHandler().(methods) {
			routed[method+" "+path] = true
			item := spec.Paths.Find(path)
			if item == nil || item.GetOperation(method) == nil {
				t.Errorf("%s %s is served but not in openapi.yaml", method, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			if !routed[method+" "+path] {
				t.Errorf("openapi.yaml describes %s %s, which is not served", method, path)
			}
		}
	}
	if len(routed) < 25 {
		t.Errorf("only %d routes found: the walk misses some", len(routed))
	}
}
