package config

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// configDoc is the configuration reference that these tests keep complete.
const configDoc = "../../docs/configuration.md"

// envDirs are the directories whose non-test Go files may read LEDGER_* variables: this
// package, and the command that finds the configuration file (LEDGER_CONFIG).
var envDirs = []string{".", "../../cmd/leadledger"}

// TestConfigurationDocNamesEveryKey fails when docs/configuration.md does not mention, in
// backticks, a key the YAML file accepts or a LEDGER_* variable the ledger reads.
func TestConfigurationDocNamesEveryKey(t *testing.T) {
	doc := readConfigDoc(t)

	keys := yamlKeys(reflect.TypeFor[file](), "", nil)
	for _, want := range []string{"listen", "sources[].auth.type", "tokens[].token_env", "metrics.secrets_env"} {
		if !slices.ContainsFunc(keys, func(k yamlKey) bool { return k.path == want }) {
			t.Fatalf("the walk of the YAML structs did not find %s; it found %v", want, keys)
		}
	}
	for _, k := range keys {
		if !strings.Contains(doc, "`"+k.name+"`") {
			t.Errorf("%s does not document the YAML key `%s` (at %s)", configDoc, k.name, k.path)
		}
	}

	vars := envVariables(t)
	if !slices.Contains(vars, "LEDGER_DATABASE") || !slices.Contains(vars, "LEDGER_CONFIG") {
		t.Fatalf("found the variables %v; want LEDGER_DATABASE and LEDGER_CONFIG among them", vars)
	}
	for _, v := range vars {
		if !strings.Contains(doc, "`"+v+"`") {
			t.Errorf("%s does not document the environment variable `%s`", configDoc, v)
		}
	}
}

// TestConfigurationDocExamplesParse decodes every yaml block of docs/configuration.md as the
// configuration file is decoded, so that no example shows a key the ledger would refuse.
func TestConfigurationDocExamplesParse(t *testing.T) {
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readConfigDoc(t), -1)
	if len(blocks) == 0 {
		t.Fatalf("%s has no yaml example", configDoc)
	}
	for i, b := range blocks {
		var f file
		dec := yaml.NewDecoder(bytes.NewReader([]byte(b[1])))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			first, _, _ := strings.Cut(b[1], "\n")
			t.Errorf("%s: yaml block %d (%q): %v", configDoc, i+1, first, err)
		}
	}
}

func readConfigDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatalf("the configuration reference: %v", err)
	}
	return string(data)
}

// yamlKey is a key the YAML file accepts: its name, and where it sits (sources[].auth.type).
type yamlKey struct{ name, path string }

// yamlKeys lists the keys of the struct under t (through pointers, slices, arrays and maps) as
// gopkg.in/yaml.v3 decodes them: a field's yaml tag name, else its lower-cased name; ",inline"
// fields give their own keys at the same level; unexported fields that are not embedded, and
// "-" fields, are skipped. Types that decode themselves are not entered.
func yamlKeys(t reflect.Type, prefix string, entered []reflect.Type) []yamlKey {
	suffix := ""
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		if t.Kind() != reflect.Pointer {
			suffix = "[]"
		}
		t = t.Elem()
	}
	if prefix != "" {
		prefix += suffix + "."
	}
	unmarshaler := reflect.TypeFor[yaml.Unmarshaler]()
	if t.Kind() != reflect.Struct || t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) ||
		slices.Contains(entered, t) {
		return nil
	}
	entered = append(entered, t)
	var keys []yamlKey
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			keys = append(keys, yamlKeys(f.Type, strings.TrimSuffix(prefix, "."), entered)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, yamlKey{name, prefix + name})
		keys = append(keys, yamlKeys(f.Type, prefix+name, entered)...)
	}
	return keys
}

// envVariables lists the LEDGER_* variables the ledger reads, found two ways: the names Load
// asks its getenv for (names built at run time, such as "LEDGER_" + a key, included), and
// every LEDGER_* name in a string literal of a non-test Go file in envDirs.
func envVariables(t *testing.T) []string {
	t.Helper()
	var names []string
	add := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if _, err := Load("", func(name string) string {
		if strings.HasPrefix(name, "LEDGER_") {
			add(name)
		}
		return ""
	}); err != nil {
		t.Fatalf("load the defaults: %v", err)
	}
	if len(names) == 0 {
		t.Fatal("Load asked its getenv for no LEDGER_* variable")
	}

	ledgerVar := regexp.MustCompile(`LEDGER_[A-Z0-9_]*[A-Z0-9]`)
	for _, dir := range envDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			ast.Inspect(parsed, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						for _, name := range ledgerVar.FindAllString(s, -1) {
							add(name)
						}
					}
				}
				return true
			})
		}
	}
	slices.Sort(names)
	return names
}
