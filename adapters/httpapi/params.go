package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
)

// checkParams refuses, with a 400 naming the parameter, a read or admin request whose path or
// query parameters cannot mean what the caller wrote: a NUL byte (PostgreSQL refuses it in text;
// SQLite ends a LIKE pattern at it, so q=%00 matched every lead), invalid UTF-8, a broken
// percent-escape or a semicolon (Go's query parser drops such a pair without a word, which
// would turn a filter off and answer with everything).
func checkParams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if problem := paramsProblem(r); problem != "" {
			writeError(w, http.StatusBadRequest, problem)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func paramsProblem(r *http.Request) string {
	vars := mux.Vars(r)
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if problem := textProblem(vars[name]); problem != "" {
			return invalidParam(name, problem)
		}
	}
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return invalidParam(rawName, escapeProblem(err))
		}
		if problem := textProblem(name); problem != "" {
			return invalidParam(name, problem)
		}
		if strings.Contains(pair, ";") {
			return invalidParam(name, "contains a semicolon; separate parameters with & and write a literal ; as %3B")
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return invalidParam(name, escapeProblem(err))
		}
		if problem := textProblem(value); problem != "" {
			return invalidParam(name, problem)
		}
	}
	return ""
}

func textProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}

func escapeProblem(err error) string {
	var escape url.EscapeError
	if errors.As(err, &escape) {
		return "invalid URL escape " + strconv.Quote(string(escape))
	}
	return "invalid URL escape"
}

// invalidParam names the parameter as sent, quoted when it is itself not plain text.
func invalidParam(name, problem string) string {
	if textProblem(name) != "" {
		name = strconv.Quote(name)
	}
	return "Invalid parameter " + name + ": " + problem
}

// bodyProblem finds, in an admin request's JSON body, text the database cannot store as sent:
// invalid UTF-8 (which the JSON decoder would quietly replace) or a \u0000 in a string or a key
// (PostgreSQL refuses NUL in text). It names the field by its path, e.g. filter.sources[0].
func bodyProblem(body []byte) string {
	if !utf8.Valid(body) {
		return "Invalid JSON: the body is not valid UTF-8"
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return "" // the typed decode reports it
	}
	if field, ok := nulField(v, ""); ok {
		return "Invalid field " + field + ": contains a NUL character"
	}
	return ""
}

func nulField(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, strings.IndexByte(v, 0) >= 0
	case []any:
		for i, item := range v {
			if field, ok := nulField(item, fmt.Sprintf("%s[%d]", path, i)); ok {
				return field, true
			}
		}
	case map[string]any:
		for _, key := range slices.Sorted(maps.Keys(v)) {
			field := key
			if path != "" {
				field = path + "." + key
			}
			if strings.IndexByte(key, 0) >= 0 {
				return strconv.Quote(field), true
			}
			if field, ok := nulField(v[key], field); ok {
				return field, true
			}
		}
	}
	return "", false
}
