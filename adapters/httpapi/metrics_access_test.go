package httpapi_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

const metricsToken = "s3cret-metrics-token"

// scrape GETs a /metrics URL, with a bearer token and extra headers when given.
func scrape(t *testing.T, client *http.Client, url, token string, headers ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

const someMetric = "leadledger_ingest_requests_total"

// fromAnotherAddress serves h on every interface and returns its URL through one of this
// machine's non-loopback addresses, so the server sees a client that is not on loopback.
func fromAnotherAddress(t *testing.T, h http.Handler) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	var ip net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("this machine has no non-loopback IPv4 address to connect from")
	}
	srv := httptest.NewUnstartedServer(h)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// With no metrics setting, /metrics is open to this host only: a client elsewhere, or one that
// came through a reverse proxy, gets a 403 saying how to open it.
func TestMetricsAnswersLoopbackByDefault(t *testing.T) {
	l := newLedger(t, "sqlite")
	l.post(t, "/v1/ingest/leadflo", nil, nil)
	if status, body, _ := scrape(t, http.DefaultClient, l.url+"/metrics", ""); status != 200 || !strings.Contains(body, someMetric) {
		t.Fatalf("/metrics from loopback: %d %.200s", status, body)
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP"} {
		status, body, _ := scrape(t, http.DefaultClient, l.url+"/metrics", "", h, "203.0.113.7")
		if status != 403 || !strings.Contains(body, "metrics.token_env") || strings.Contains(body, someMetric) {
			t.Errorf("/metrics through a proxy (%s): %d %s, want 403 saying how to configure it", h, status, body)
		}
	}
	t.Run("from another address", func(t *testing.T) {
		status, body, _ := scrape(t, http.DefaultClient, fromAnotherAddress(t, l.api)+"/metrics", "")
		if status != 403 || !strings.Contains(body, `"status":"403"`) || !strings.Contains(body, "metrics.listen") {
			t.Errorf("/metrics from a non-loopback address: %d %s, want a 403 JSON reply", status, body)
		}
	})
}

// With a token, /metrics wants it from everyone, loopback included.
func TestMetricsWithAToken(t *testing.T) {
	l := newLedgerWith(t, eventstoretest.SQLiteURL(t), func(c *httpapi.Config) {
		c.Metrics = httpapi.MetricsAccess{Tokens: []string{"old-metrics-token", metricsToken}}
	})
	l.post(t, "/v1/ingest/leadflo", nil, nil)
	for _, token := range []string{"", "guess", auditorToken} {
		status, body, header := scrape(t, http.DefaultClient, l.url+"/metrics", token)
		if status != 401 || !strings.Contains(body, `"status":"401"`) || header.Get("WWW-Authenticate") == "" {
			t.Errorf("/metrics with token %q: %d %s, want 401", token, status, body)
		}
	}
	for _, token := range []string{metricsToken, "old-metrics-token"} {
		if status, body, _ := scrape(t, http.DefaultClient, l.url+"/metrics", token); status != 200 || !strings.Contains(body, someMetric) {
			t.Errorf("/metrics with the token: %d %.200s", status, body)
		}
	}
	t.Run("from another address", func(t *testing.T) {
		url := fromAnotherAddress(t, l.api) + "/metrics"
		if status, body, _ := scrape(t, http.DefaultClient, url, metricsToken); status != 200 || !strings.Contains(body, someMetric) {
			t.Errorf("/metrics with the token from elsewhere: %d %.200s", status, body)
		}
	})
	if strings.Contains(l.logs.String(), metricsToken) {
		t.Errorf("the metrics token appears in the logs")
	}
}

// On a listener of its own, /metrics leaves the main one; that listener serves nothing else.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	l := newLedgerWith(t, eventstoretest.SQLiteURL(t), func(c *httpapi.Config) { c.Metrics.Separate = true })
	l.post(t, "/v1/ingest/leadflo", nil, nil)
	if status, body, _ := scrape(t, http.DefaultClient, l.url+"/metrics", ""); status != 404 || strings.Contains(body, someMetric) {
		t.Errorf("/metrics on the main listener: %d %.200s, want 404", status, body)
	}
	metrics := httptest.NewServer(l.api.MetricsHandler())
	defer metrics.Close()
	if status, body, _ := scrape(t, http.DefaultClient, metrics.URL+"/metrics", ""); status != 200 || !strings.Contains(body, someMetric) {
		t.Errorf("/metrics on its listener: %d %.200s", status, body)
	}
	for _, path := range []string{"/healthz", "/v1/events", "/metrics/"} {
		if status, body, _ := scrape(t, http.DefaultClient, metrics.URL+path, auditorToken); status != 404 || !strings.Contains(body, `"status":"404"`) {
			t.Errorf("%s on the metrics listener: %d %s, want a 404 JSON reply", path, status, body)
		}
	}
	t.Run("from another address", func(t *testing.T) {
		url := fromAnotherAddress(t, l.api.MetricsHandler()) + "/metrics"
		if status, body, _ := scrape(t, http.DefaultClient, url, ""); status != 200 || !strings.Contains(body, someMetric) {
			t.Errorf("/metrics on its listener, from elsewhere: %d %.200s (the address chosen is the guard)", status, body)
		}
	})
}
