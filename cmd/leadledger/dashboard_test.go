package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// exposition is one scrape of /metrics: each family's type, and every sample line.
type exposition struct {
	types   map[string]string // family name -> counter, gauge, histogram...
	samples map[string]float64
}

func scrapeMetrics(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	e := exposition{types: map[string]string{}, samples: map[string]float64{}}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			e.types[f[2]] = f[3]
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			e.samples[line[:i]] = v
		}
	}
	return e
}

// value is the sample of a family whose labels include every one of labels (`sink="…"`);
// ok is false if there is none.
func (e exposition) value(name string, labels ...string) (float64, bool) {
	for series, v := range e.samples {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		if !slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(series, l) }) {
			return v, true
		}
	}
	return 0, false
}

// The metrics an operator alerts on, from a running server: a paused sink's lag and status,
// a running replay's progress, group commit's histograms, the pools, the lead view's lag and
// the checkpoint's age. Then every metric the Grafana dashboard queries is one the server
// exports.
func TestServedMetricsAndDashboard(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	srv := start(t, writeConfig(t, dir, addr, eventstoretest.SQLiteURL(t)), addr)
	t.Cleanup(func() { _ = srv.cmd.Process.Kill(); _ = srv.cmd.Wait() })
	const before, behind = 20, 5
	postWebhooks(t, srv.url, before)

	rcv := newCountingReceiver(t, 0)
	release := rcv.holdAfter(2) // the replay stays running, 2 events delivered
	defer release()
	secret := "whsec_c2luay1zaWduaW5nLWtleS1mb3ItdGVzdHMtMzI="
	paused := srv.api(t, "POST", "/v1/sinks", `{"name":"paused","type":"webhook","url":"`+rcv.srv.URL+`","secret":"`+secret+`","start":"now"}`)["id"].(string)
	srv.api(t, "POST", "/v1/sinks/"+paused+"/pause", "")
	postWebhooks(t, srv.url, behind)
	replayed := srv.api(t, "POST", "/v1/sinks", `{"name":"replayed","type":"webhook","url":"`+rcv.srv.URL+`","secret":"`+secret+`","start":"now"}`)["id"].(string)
	replay := srv.api(t, "POST", "/v1/sinks/"+replayed+"/replays", `{"from_position":0}`)["id"].(string)

	sink := func(id string) string { return `sink="` + id + `"` }
	checks := []struct {
		what  string
		name  string
		label []string
		ok    func(float64) bool
	}{
		{"paused sink's lag", "leadledger_sink_lag_events", []string{sink(paused)}, func(v float64) bool { return v == behind }},
		{"paused sink's status", "leadledger_sink_status", []string{sink(paused), `status="paused"`}, func(v float64) bool { return v == 1 }},
		{"replayed sink's status", "leadledger_sink_status", []string{sink(replayed), `status="active"`}, func(v float64) bool { return v == 1 }},
		{"replay total", "leadledger_replay_events", []string{`replay="` + replay + `"`, `state="total"`}, func(v float64) bool { return v == before+behind }},
		{"replay delivered", "leadledger_replay_events", []string{`replay="` + replay + `"`, `state="delivered"`}, func(v float64) bool { return v == 2 }},
		{"replay attempts by sink", "leadledger_sink_attempts_total", []string{sink(replayed), `code="200"`}, func(v float64) bool { return v >= 2 }},
		{"append transactions", "leadledger_append_batch_events_count", nil, func(v float64) bool { return v >= 1 }},
		{"events appended", "leadledger_append_batch_events_sum", nil, func(v float64) bool { return v == before+behind }},
		{"commits timed", "leadledger_append_commit_seconds_count", nil, func(v float64) bool { return v >= 1 }},
		{"write pool", "go_sql_max_open_connections", []string{`db_name="write"`}, func(v float64) bool { return v == 1 }},
		{"read pool", "go_sql_max_open_connections", []string{`db_name="read"`}, func(v float64) bool { return v == 8 }},
		{"lead view lag", "leadledger_projection_lag_events", []string{`projection="lead_view"`}, func(v float64) bool { return v == 0 }},
		{"audit tree lag", "leadledger_projection_lag_events", []string{`projection="audit_tree"`}, func(v float64) bool { return v >= 0 }},
		{"checkpoint age", "leadledger_checkpoint_age_seconds", nil, func(v float64) bool { return v >= 0 && v < 60 }},
		{"database up", "leadledger_database_up", nil, func(v float64) bool { return v == 1 }},
	}
	var e exposition
	var failing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		e, failing = scrapeMetrics(t, srv.url), nil
		for _, c := range checks {
			if v, ok := e.value(c.name, c.label...); !ok || !c.ok(v) {
				failing = append(failing, fmt.Sprintf("%s: %s%v = %v (exported: %v)", c.what, c.name, c.label, v, ok))
			}
		}
		if len(failing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, f := range failing {
		t.Error(f)
	}

	data, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	problems, exprs := checkDashboard(data, e.types)
	for _, p := range problems {
		t.Errorf("docs/grafana-dashboard.json: %s", p)
	}
	if exprs < 20 {
		t.Errorf("the dashboard has %d queries; its panels were not read", exprs)
	}
	checkAlerts(t, "../../docs/operations.md", e.types)
	// And the check does catch a metric the server does not export.
	bad := strings.Replace(string(data), "leadledger_sink_lag_events", "leadledger_sink_lag", 1)
	if problems, _ := checkDashboard([]byte(bad), e.types); len(problems) != 1 || !strings.Contains(problems[0], "leadledger_sink_lag is not exported") {
		t.Errorf("a dashboard naming leadledger_sink_lag: problems %q, want that one", problems)
	}
}

// checkDashboard lists the problems of a dashboard: a PromQL expression naming a metric not in
// exported (family name -> type), a histogram's _bucket, _sum and _count series included; a
// panel without a query or not on the datasource variable; no such variable; an old schema.
func checkDashboard(data []byte, exported map[string]string) (problems []string, exprs int) {
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var dash struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct{ Type, Name, Query string } `json:"list"`
		} `json:"templating"`
		Panels []dashPanel `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		return []string{err.Error()}, 0
	}
	if dash.SchemaVersion < 36 {
		errorf("schemaVersion %d: want Grafana 10's (36 or later)", dash.SchemaVersion)
	}
	if !slices.ContainsFunc(dash.Templating.List, func(v struct{ Type, Name, Query string }) bool {
		return v.Type == "datasource" && v.Query == "prometheus" && v.Name == "datasource"
	}) {
		errorf("no Prometheus datasource variable named datasource")
	}
	known := func(name string) bool {
		if exported[name] != "" {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(name, suffix)
			if ok && (exported[base] == "histogram" || exported[base] == "summary" && suffix != "_bucket") {
				return true
			}
		}
		return false
	}
	for _, p := range flatten(dash.Panels) {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" {
			errorf("panel %q: datasource %q, want the ${datasource} variable", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			exprs++
			used := metricNames(target.Expr)
			if len(used) == 0 {
				errorf("panel %q: no metric found in %q", p.Title, target.Expr)
			}
			for _, name := range used {
				if !known(name) {
					errorf("panel %q: %s is not exported by the server (expr %q)", p.Title, name, target.Expr)
				}
			}
		}
	}
	return problems, exprs
}

// checkAlerts holds the suggested alerts of the operations guide to the same rule: every
// metric their PromQL names is exported (or is Prometheus's own up).
func checkAlerts(t *testing.T, path string, exported map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	start := strings.Index(guide, "Suggested alerts")
	if start < 0 {
		t.Fatalf("%s: no suggested alerts", path)
	}
	exported = maps.Clone(exported)
	exported["up"] = "gauge"
	// Series of a CRM sink's first call: this test runs webhook sinks only.
	exported["leadledger_crm_calls_total"] = "counter"
	var checked int
	for line := range strings.Lines(guide[start:]) {
		if strings.HasPrefix(line, "#") { // the next section
			break
		}
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		for _, span := range codeSpan.FindAllStringSubmatch(strings.ReplaceAll(line, `\|`, "|"), -1) {
			expr := span[1]
			if !strings.Contains(expr, "(") && !strings.Contains(expr, "==") && !strings.Contains(expr, " > ") {
				continue // a value, not a query
			}
			for _, name := range metricNames(expr) {
				checked++
				if exported[name] == "" && !strings.HasSuffix(name, "_bucket") {
					t.Errorf("%s: alert query %q names %s, which the server does not export", path, expr, name)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("%s: %d metrics named in the suggested alerts; the table was not read", path, checked)
	}
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

type dashPanel struct {
	Type, Title string
	Datasource  struct{ UID string }
	Targets     []struct{ Expr string }
	Panels      []dashPanel // a collapsed row's
}

func flatten(ps []dashPanel) []dashPanel {
	var out []dashPanel
	for _, p := range ps {
		out = append(append(out, p), flatten(p.Panels)...)
	}
	return out
}

var (
	// Not metrics: what is inside label matchers, ranges and strings, label lists of by, without,
	// on, ignoring, group_left and group_right.
	promqlNoise = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|"[^"]*"|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|\$?[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`) // numbers and durations too, to skip them
	promqlWords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames are the metric names a PromQL expression selects: its identifiers that are not
// functions (followed by a parenthesis), keywords, label names or Grafana variables.
func metricNames(expr string) []string {
	var out []string
	for _, id := range promqlIdent.FindAllString(promqlNoise.ReplaceAllString(expr, " "), -1) {
		if strings.HasSuffix(id, "(") || id[0] == '$' || id[0] >= '0' && id[0] <= '9' || promqlWords[strings.ToLower(id)] {
			continue
		}
		out = append(out, id)
	}
	return out
}

// The PromQL reading above finds the metrics, and only them.
func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (source, status) (rate(leadledger_ingest_requests_total{status=~"5.."}[$__rate_interval]))`:                   {"leadledger_ingest_requests_total"},
		`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) / on (sink) group_left (name) max by (sink, name) (info)`: {"x_bucket", "info"},
		`(a{s="b"} == 1) * 2 or b offset 5m and bool c`:                                                                       {"a", "b", "c"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
