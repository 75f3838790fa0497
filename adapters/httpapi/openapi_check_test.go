package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/leadledger/leadledger/adapters/httpapi"
)

var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := httpapi.OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		return nil, err
	}
	spec.Servers = nil // any host: the test servers listen on random ports
	// An export is NDJSON: its body is checked as text, its lines by the export tests.
	openapi3filter.RegisterBodyDecoder("text/event-stream", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	})
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	})
	return gorillamux.NewRouter(spec)
})

// checkedAgainstOpenAPI serves h and checks every reply of a described route against
// openapi.yaml: a reply the document does not allow fails the test that caused it.
func checkedAgainstOpenAPI(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Written through as the handler writes (an event stream must reach its client as it
		// goes), and kept to be checked once the handler returns.
		rec := &teeRecorder{ResponseWriter: w, rec: httptest.NewRecorder()}
		h.ServeHTTP(rec, r)

		route, params, err := router.FindRoute(r)
		if err != nil || r.Method == http.MethodHead || !strings.HasPrefix(r.URL.Path, "/v1/") {
			return // not described (a 404, a 405): the route test covers what is served
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
			Status:                 rec.rec.Code,
			Header:                 rec.rec.Header(),
			Body:                   io.NopCloser(bytes.NewReader(rec.rec.Body.Bytes())),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		})
		if err != nil {
			t.Errorf("%s %s answered %d, which openapi.yaml does not allow: %v\n%.500s", r.Method, r.URL.Path, rec.rec.Code, err, rec.rec.Body.String())
		}
	})
}

// The document is served to anyone: it describes the API and holds nothing secret.
func TestOpenAPIServed(t *testing.T) {
	l := newLedger(t, "sqlite")
	status, doc := l.getAs(t, "", "/v1/openapi.json")
	if status != http.StatusOK || doc["openapi"] != "3.1.0" || doc["paths"] == nil {
		t.Fatalf("GET /v1/openapi.json: %d %.200v", status, doc)
	}
}

// teeRecorder writes a reply through to the client and records a copy of it.
type teeRecorder struct {
	http.ResponseWriter
	rec   *httptest.ResponseRecorder
	wrote bool
}

func (t *teeRecorder) WriteHeader(status int) {
	if t.wrote {
		return
	}
	t.wrote = true
	for k, v := range t.ResponseWriter.Header() {
		t.rec.Header()[k] = v
	}
	t.rec.WriteHeader(status)
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeRecorder) Write(b []byte) (int, error) {
	t.WriteHeader(http.StatusOK)
	_, _ = t.rec.Write(b)
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection: flushes and deadlines.
func (t *teeRecorder) Unwrap() http.ResponseWriter { return t.ResponseWriter }
