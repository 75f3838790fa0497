package httpapi_test

import (
	"bufio"
	"bytes"
	"maps"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/leadledger/leadledger/adapters/httpapi"
)

// apiDocs is the API reference, relative to this package's directory (where go test runs).
const apiDocs = "../../docs/api.md"

// operationHeading is a heading of docs/api.md that names an operation: ### `GET /v1/leads`.
var operationHeading = regexp.MustCompile("^### `([A-Z]+) (/[^`]*)`$")

// docs/api.md and openapi.yaml describe the same operations: every operation of the OpenAPI
// document has a "### `METHOD /path`" heading in docs/api.md, and every such heading names an
// operation the document describes.
func TestAPIDocsMatchOpenAPI(t *testing.T) {
	doc, err := httpapi.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	described := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	if len(described) == 0 {
		t.Fatal("openapi.yaml describes no operation")
	}

	text, err := os.ReadFile(apiDocs)
	if err != nil {
		t.Fatalf("read the API reference: %v", err)
	}
	documented := map[string]int{} // operation -> line of its heading
	lines := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; lines.Scan(); n++ {
		m := operationHeading.FindStringSubmatch(lines.Text())
		if m == nil {
			continue
		}
		op := m[1] + " " + m[2]
		if first, ok := documented[op]; ok {
			t.Errorf("docs/api.md:%d: heading ### `%s` repeats the one on line %d", n, op, first)
			continue
		}
		documented[op] = n
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("read the API reference: %v", err)
	}

	for _, op := range slices.Sorted(maps.Keys(described)) {
		if _, ok := documented[op]; !ok {
			t.Errorf("openapi.yaml describes %s, but docs/api.md has no heading ### `%s`", op, op)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(documented)) {
		if !described[op] {
			t.Errorf("docs/api.md:%d: heading ### `%s` names an operation openapi.yaml does not describe", documented[op], op)
		}
	}
}
