package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// Refused webhooks read back newest first, with the exact bytes (base64 when not UTF-8), their
// SHA-256 and the reason, paged by cursor and narrowed by source; one reads back by id.
func TestRejections(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			auth := basic("conversica", conversicaPass)
			bodies := [][]byte{[]byte(`{"firstName":`), []byte("{\"firstName\":\"\xff\"}"), nil}
			for _, b := range bodies {
				if status, reply := l.post(t, "/v1/ingest/conversica", b, auth); status != 400 {
					t.Fatalf("ingest %q: %d %v", b, status, reply)
				}
			}
			leadflo := []byte(`{"event":"visitor_created"}`)
			if status, _ := l.post(t, "/v1/ingest/leadflo", leadflo, header("X-Webhook-Secret", leadfloSecret)); status != 400 {
				t.Fatalf("leadflo ingest: %d", status)
			}
			// Refusals that are not kept: no credentials, too large.
			l.post(t, "/v1/ingest/conversica", bodies[0], nil)
			l.post(t, "/v1/ingest/conversica", bytes.Repeat([]byte(" "), 64<<10+1), auth)

			status, page := l.getAs(t, auditorToken, "/v1/rejections")
			if status != 200 {
				t.Fatalf("list: %d %v", status, page)
			}
			items := page["rejections"].([]any)
			if len(items) != 4 || page["next_cursor"] != "" {
				t.Fatalf("list: %d items, next_cursor %v; want 4 and \"\"", len(items), page["next_cursor"])
			}
			newest := items[0].(map[string]any)
			if newest["source"] != "leadflo" || newest["vendor"] != "leadflo" || newest["raw"] != string(leadflo) ||
				newest["reason"] == "" || newest["raw_sha256"] != sha(leadflo) {
				t.Fatalf("newest: %v", newest)
			}
			// Newest first: the conversica bodies in the reverse of their order.
			for i, b := range bodies {
				item := items[3-i].(map[string]any)
				if item["raw_sha256"] != sha(b) || item["received_at"] == "" {
					t.Fatalf("item %d: %v, want the body %q", 3-i, item, b)
				}
				if b != nil && bytes.Contains(b, []byte{0xff}) {
					raw, _ := base64.StdEncoding.DecodeString(fmt.Sprint(item["raw_base64"]))
					if item["raw"] != nil || !bytes.Equal(raw, b) || item["reason"] != "Body is not valid UTF-8" {
						t.Fatalf("non-UTF-8 body: %v", item)
					}
				} else if item["raw"] != string(b) || item["raw_base64"] != nil {
					t.Fatalf("UTF-8 body: %v", item)
				}
			}

			// Paging: two of the three conversica ones, then the last.
			_, first := l.getAs(t, auditorToken, "/v1/rejections?source=conversica&limit=2")
			got := first["rejections"].([]any)
			cursor, _ := first["next_cursor"].(string)
			if len(got) != 2 || cursor != got[1].(map[string]any)["id"] {
				t.Fatalf("first page: %v", first)
			}
			_, second := l.getAs(t, auditorToken, "/v1/rejections?source=conversica&limit=2&cursor="+cursor)
			rest := second["rejections"].([]any)
			if len(rest) != 1 || second["next_cursor"] != "" || rest[0].(map[string]any)["id"] != items[3].(map[string]any)["id"] {
				t.Fatalf("second page: %v", second)
			}
			if _, none := l.getAs(t, auditorToken, "/v1/rejections?source=sensei"); len(none["rejections"].([]any)) != 0 {
				t.Fatalf("sensei has none: %v", none)
			}

			id := newest["id"].(string)
			if status, one := l.getAs(t, operatorToken, "/v1/rejections/"+id); status != 200 || one["id"] != id || one["raw"] != string(leadflo) {
				t.Fatalf("by id: %d %v", status, one)
			}
			for _, c := range []struct {
				name, token, path string
				want              int
			}{
				{"no token", "", "/v1/rejections", 401},
				{"wrong token", "guess", "/v1/rejections", 401},
				{"bad cursor", auditorToken, "/v1/rejections?cursor=abc", 400},
				{"limit too large", auditorToken, "/v1/rejections?limit=1001", 400},
				{"unknown id", auditorToken, "/v1/rejections/019ad5a1-7c3e-7d0a-9a51-3f5e2b8c1d40", 404},
				{"not a uuid", auditorToken, "/v1/rejections/nope", 404},
				{"by id, no token", "", "/v1/rejections/" + id, 401},
			} {
				if status, reply := l.getAs(t, c.token, c.path); status != c.want || reply["message"] == "" {
					t.Errorf("%s: %d %v, want %d", c.name, status, reply, c.want)
				}
			}
		})
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// GET /v1/sources shows each source's shape and rejection count, and no credential anywhere.
func TestSources(t *testing.T) {
	l := newLedger(t, "sqlite")
	if status, _ := l.post(t, "/v1/ingest/conversica", []byte(`{`), basic("conversica", conversicaPass)); status != 400 {
		t.Fatalf("ingest: %d", status)
	}
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"guess", 401}, {auditorToken, 200}, {operatorToken, 200}} {
		if status, _ := l.getAs(t, c.token, "/v1/sources"); status != c.want {
			t.Errorf("token %q: %d, want %d", c.token, status, c.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, l.url+"/v1/sources", nil)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	secrets := append(append([]string{}, allSecrets...), string(senseiKey), string(senseiOldKey),
		base64.StdEncoding.EncodeToString(senseiOldKey), hex.EncodeToString(senseiKey))
	for _, secret := range secrets {
		if strings.Contains(string(raw), secret) || strings.Contains(string(raw), strings.Trim(fmt.Sprintf("%q", secret), `"`)) {
			t.Errorf("a secret appears in GET /v1/sources: %q\n%s", secret, raw)
		}
	}
	_, reply := l.getAs(t, auditorToken, "/v1/sources")
	want := map[string]string{
		"conversica":   `{"id":"conversica","vendor":"conversica","auth_type":"basic","credentials":1,"ingest_path":"/v1/ingest/conversica","rejections":1}`,
		"whatconverts": `{"id":"whatconverts","vendor":"whatconverts","auth_type":"url_token","credentials":1,"ingest_path":"/v1/ingest/whatconverts","rejections":0}`,
		"leadflo":      `{"id":"leadflo","vendor":"leadflo","auth_type":"header_secret","header":"X-Webhook-Secret","credentials":1,"ingest_path":"/v1/ingest/leadflo","rejections":0}`,
		"sensei":       `{"id":"sensei","vendor":"sensei","auth_type":"standard_webhooks","credentials":2,"ingest_path":"/v1/ingest/sensei","rejections":0}`,
	}
	sources := reply["sources"].([]any)
	if len(sources) != len(want) {
		t.Fatalf("%d sources, want %d: %s", len(sources), len(want), raw)
	}
	for _, src := range sources {
		m := src.(map[string]any)
		var w map[string]any
		if err := json.Unmarshal([]byte(want[fmt.Sprint(m["id"])]), &w); err != nil || !reflect.DeepEqual(m, w) {
			t.Errorf("source %v:\n got %v\nwant %v", m["id"], m, w)
		}
	}
}
