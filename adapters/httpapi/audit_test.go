package httpapi_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

func (l *ledger) getAs(t *testing.T, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func hexes(t *testing.T, v any) [][]byte {
	t.Helper()
	list, _ := v.([]any)
	out := make([][]byte, len(list))
	for i, h := range list {
		b, err := hex.DecodeString(h.(string))
		if err != nil {
			t.Fatalf("%v is not hex", h)
		}
		out[i] = b
	}
	return out
}

// An auditor checks an event's inclusion and the log's consistency from the API alone: the
// public key, a signed checkpoint, the proofs, and RFC 9162's verification written in the test.
func TestCheckpointsAndProofsOverHTTP(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			if status, reply := l.getAs(t, auditorToken, "/v1/checkpoints/latest"); status != http.StatusNotFound || reply["message"] == "" {
				t.Fatalf("latest before any checkpoint: %d %v, want 404 with a message", status, reply)
			}
			body := exampleBody(t, "leadflo-visitor-created.json")
			ingest := func(n int) {
				for range n {
					if status, reply := l.post(t, "/v1/ingest/leadflo", body, header("X-Webhook-Secret", leadfloSecret)); status != 200 {
						t.Fatalf("ingest: %d %v", status, reply)
					}
				}
			}
			ingest(5)
			if _, err := l.checkpoints.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			ingest(6)
			events := l.events(t)
			late := events[len(events)-1]["id"].(string) // not in any checkpoint yet
			if status, reply := l.getAs(t, auditorToken, "/v1/events/"+late+"/proof"); status != http.StatusConflict || reply["message"] == "" {
				t.Fatalf("proof of an event after the latest checkpoint: %d %v, want 409", status, reply)
			}
			if _, err := l.checkpoints.Step(context.Background()); err != nil {
				t.Fatal(err)
			}

			_, key := l.getAs(t, auditorToken, "/v1/checkpoints/public-key")
			verifier, err := note.NewVerifier(key["verifier_key"].(string))
			if err != nil {
				t.Fatalf("public key %v: %v", key, err)
			}
			status, latest := l.getAs(t, auditorToken, "/v1/checkpoints/latest")
			if status != 200 || latest["tree_size"] != float64(11) || latest["key_id"] != key["key_id"] {
				t.Fatalf("latest checkpoint: %d %v", status, latest)
			}
			if _, err := note.Open([]byte(latest["note"].(string)), note.VerifierList(verifier)); err != nil {
				t.Fatalf("the latest checkpoint's note does not verify with the public key: %v", err)
			}
			root, _ := hex.DecodeString(latest["root"].(string))
			for i, e := range events {
				status, p := l.getAs(t, auditorToken, "/v1/events/"+e["id"].(string)+"/proof")
				if status != 200 || p["leaf_index"] != float64(i) || p["root"] != latest["root"] {
					t.Fatalf("proof of event %d: %d %v", i, status, p)
				}
				leaf, _ := hex.DecodeString(e["hash"].(string))
				if !eventstoretest.VerifyInclusion(uint64(i), 11, eventstoretest.LeafHash(leaf), hexes(t, p["audit_path"]), root) {
					t.Fatalf("the inclusion proof of event %d does not verify against the checkpoint", i)
				}
			}
			_, list := l.getAs(t, auditorToken, "/v1/checkpoints?limit=10")
			checkpoints := list["checkpoints"].([]any)
			if len(checkpoints) != 2 {
				t.Fatalf("checkpoints: %v", list)
			}
			first := checkpoints[1].(map[string]any)
			status, c := l.getAs(t, auditorToken, "/v1/checkpoints/consistency?first=5&second=11")
			firstRoot, _ := hex.DecodeString(first["root"].(string))
			if status != 200 || c["first_root"] != first["root"] ||
				!eventstoretest.VerifyConsistency(5, 11, hexes(t, c["proof"]), firstRoot, root) {
				t.Fatalf("consistency 5 -> 11: %d %v", status, c)
			}
			// An older tree head, by size: its proof checks against the first checkpoint.
			_, p := l.getAs(t, auditorToken, "/v1/events/"+events[2]["id"].(string)+"/proof?tree_size=5")
			leaf, _ := hex.DecodeString(events[2]["hash"].(string))
			if p["root"] != first["root"] || !eventstoretest.VerifyInclusion(2, 5, eventstoretest.LeafHash(leaf), hexes(t, p["audit_path"]), firstRoot) {
				t.Fatalf("proof at tree size 5: %v", p)
			}

			for _, c := range []struct {
				name, token, path string
				want              int
			}{
				{"no token", "", "/v1/checkpoints/latest", 401},
				{"operator", operatorToken, "/v1/checkpoints/latest", 200},
				{"unknown event", auditorToken, "/v1/events/0195c6a1-7f00-7000-8000-000000000000/proof", 404},
				{"not an id", auditorToken, "/v1/events/nope/proof", 404},
				{"tree size 0", auditorToken, "/v1/events/" + late + "/proof?tree_size=0", 400},
				{"tree size beyond the tree", auditorToken, "/v1/events/" + late + "/proof?tree_size=12", 400},
				{"tree size not a number", auditorToken, "/v1/events/" + late + "/proof?tree_size=x", 400},
				{"first above second", auditorToken, "/v1/checkpoints/consistency?first=11&second=5", 400},
				{"second missing", auditorToken, "/v1/checkpoints/consistency?first=5", 400},
				{"limit zero", auditorToken, "/v1/checkpoints?limit=0", 400},
			} {
				status, reply := l.getAs(t, c.token, c.path)
				if status != c.want || (status != 200 && reply["message"] == "") {
					t.Errorf("%s: %d %v, want %d with a message", c.name, status, reply, c.want)
				}
			}
			if status, _ := l.getAs(t, auditorToken, fmt.Sprintf("/v1/events/%s/proof?tree_size=11", late)); status != 200 {
				t.Errorf("proof of the latest event at the full size: %d", status)
			}
		})
	}
}

// GET /v1/export streams the export format to an auditor: it verifies like a file.
func TestExportOverHTTP(t *testing.T) {
	l := newLedger(t, "sqlite")
	body := exampleBody(t, "leadflo-visitor-created.json")
	for range 7 {
		if status, reply := l.post(t, "/v1/ingest/leadflo", body, header("X-Webhook-Secret", leadfloSecret)); status != 200 {
			t.Fatalf("ingest: %d %v", status, reply)
		}
	}
	if _, err := l.checkpoints.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := func(query, token string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, l.url+"/v1/export"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, export := get("", auditorToken)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	v, keys, err := audit.VerifyExport(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(export)), nil })
	if err != nil || v.Events != 7 || len(keys) != 1 {
		t.Fatalf("the export verifies: %+v %v %v", v, keys, err)
	}
	if first, _, _ := bytes.Cut(export, []byte("\n")); !bytes.Contains(first, []byte(`"kind":"event"`)) || !bytes.Contains(first, []byte(`"raw_sha256"`)) {
		t.Errorf("the export's first line is not an event, as the contract has it: %.200s", first)
	}
	if n := bytes.Count(export, []byte("\n")); n != 7+1 { // the events, the checkpoint
		t.Errorf("export has %d lines, want 8", n)
	}
	_, part := get("?from=3&to=5", auditorToken)
	if n := bytes.Count(part, []byte(`"kind":"event"`)); n != 3 {
		t.Errorf("from=3&to=5 exported %d events, want 3", n)
	}
	for _, c := range []struct {
		query, token string
		want         int
	}{{"", "", 401}, {"?from=0", auditorToken, 400}, {"?from=x", auditorToken, 400}, {"?from=5&to=3", auditorToken, 400}} {
		if resp, _ := get(c.query, c.token); resp.StatusCode != c.want {
			t.Errorf("export%s: %d, want %d", c.query, resp.StatusCode, c.want)
		}
	}
}

// A server's write timeout does not cut an export short: the export moves the deadline on as
// it writes.
func TestExportOutlivesTheWriteTimeout(t *testing.T) {
	l := newLedger(t, "sqlite")
	ctx := context.Background()
	for batch := range 4 {
		var events []domain.Event
		for i := range 500 {
			raw := []byte(fmt.Sprintf(`{"visitorId":"v%d"}`, batch*500+i))
			events = append(events, domain.NewEvent("leadflo", "leadflo", domain.Parsed{Type: domain.LeadCaptured, LeadKey: fmt.Sprint(batch*500 + i)}, raw, time.Now()))
		}
		if _, err := l.store.Append(ctx, events...); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewUnstartedServer(l.api)
	srv.Config.WriteTimeout = 20 * time.Millisecond // less than reading and writing 2,000 events takes
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/export", nil)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	export, err := io.ReadAll(resp.Body)
	if n := bytes.Count(export, []byte(`"kind":"event"`)); err != nil || n != 2000 {
		t.Fatalf("export under a 20 ms write timeout: %d events, %v; want all 2,000", n, err)
	}
}
