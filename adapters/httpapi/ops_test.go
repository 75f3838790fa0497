package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	l := newLedger(t, "postgres")
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(l.url + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, resp.Status, err)
		}
		resp.Body.Close()
	}
	l.post(t, "/v1/ingest/leadflo", exampleBody(t, "leadflo-visitor-created.json"), header("X-Webhook-Secret", leadfloSecret))
	l.post(t, "/v1/ingest/leadflo", nil, nil)
	resp, err := http.Get(l.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`leadledger_ingest_requests_total{source="leadflo",status="200"} 1`,
		`leadledger_ingest_requests_total{source="leadflo",status="401"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	_ = l.store.Close() // the database is gone for the server: not ready, still alive
	resp, err = http.Get(l.url + "/readyz")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %v %v, want 503", resp.Status, err)
	}
	resp.Body.Close()
	if resp, err = http.Get(l.url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with the database closed: %v %v, want 200", resp.Status, err)
	}
	resp.Body.Close()
}
