package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/httpapi"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore"
	"github.com/leadledger/leadledger/eventstore/audit"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
	"github.com/leadledger/leadledger/projections"
)

const (
	conversicaPass = "s3cret-conversica-pass"
	wcToken        = "s3cret-whatconverts-token"
	leadfloSecret  = "s3cret-leadflo"
	operatorToken  = "s3cret-operator-token"
	auditorToken   = "s3cret-auditor-token"
)

var (
	senseiKey    = []byte("sensei-signing-key-0123456789abcdef")
	senseiOldKey = []byte("sensei-old-key-being-rotated-out!!")
	allSecrets   = []string{conversicaPass, wcToken, leadfloSecret, operatorToken, auditorToken,
		base64.StdEncoding.EncodeToString(senseiKey), sinkSecret, sinkURLToken}
)

// ledger is a real server on loopback over a real database, with its log output captured.
type ledger struct {
	url   string
	api   *httpapi.Server
	store *eventstore.Store
	logs  *syncBuffer
	now   time.Time
	// later moves the server's clock past now, for what it times (outage reports).
	later atomic.Int64
	// checkpoints grows the audit tree and signs a checkpoint when a test calls Step.
	checkpoints *audit.Checkpointer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLedger(t *testing.T, backend string) *ledger {
	t.Helper()
	return newLedgerWith(t, eventstoretest.URL(t, backend), nil)
}

// newLedgerWith serves the database at databaseURL, with the server's configuration changed
// by configure (when not nil). Its sinks may reach private addresses: the tests' receivers are
// on loopback.
func newLedgerWith(t *testing.T, databaseURL string, configure func(*httpapi.Config)) *ledger {
	t.Helper()
	return newLedgerGuarded(t, databaseURL, true, configure)
}

// newLedgerGuarded is newLedgerWith with allow_private_sink_urls set to allowPrivate.
func newLedgerGuarded(t *testing.T, databaseURL string, allowPrivate bool, configure func(*httpapi.Config)) *ledger {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := eventstore.Open(ctx, eventstore.Config{URL: databaseURL, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	l := &ledger{store: store, logs: logs, now: time.Now()}
	view, err := projections.NewLeadView(ctx, store, logger)
	if err != nil {
		t.Fatalf("lead view: %v", err)
	}
	viewCtx, stopView := context.WithCancel(ctx)
	viewDone := make(chan struct{})
	go func() { _ = view.Run(viewCtx); close(viewDone) }()
	registry, err := sinks.NewRegistry(ctx, store, sinks.AllowPrivateURLs(allowPrivate))
	if err != nil {
		t.Fatalf("sinks: %v", err)
	}
	delivery, err := sinks.NewManager(sinks.Config{PollInterval: 20 * time.Millisecond, Logger: logger, Leads: view}, store, registry)
	if err != nil {
		t.Fatalf("delivery: %v", err)
	}
	deliveryDone := make(chan struct{})
	go func() { _ = delivery.Run(viewCtx); close(deliveryDone) }()
	tree, err := audit.NewTree(ctx, store)
	if err != nil {
		t.Fatalf("audit tree: %v", err)
	}
	skey, err := audit.GenerateSigningKey("leadledger-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l.checkpoints = &audit.Checkpointer{Tree: tree, Signer: signer, Every: time.Nanosecond, Log: logger}
	cfg := httpapi.Config{
		Leads:           view,
		Sinks:           registry,
		Audit:           &httpapi.Audit{Tree: tree, Signer: signer},
		ReadWaitTimeout: 3 * time.Second, // generous: the view runs beside other packages' tests
		MaxBodyBytes:    64 << 10,
		Logger:          logger,
		Now:             func() time.Time { return l.now.Add(time.Duration(l.later.Load())) },
		Sources: []config.Source{
			{ID: "conversica", Vendor: "conversica", Auth: config.Auth{Type: config.AuthBasic, Username: "conversica", Secrets: []string{conversicaPass}}},
			{ID: "whatconverts", Vendor: "whatconverts", Auth: config.Auth{Type: config.AuthURLToken, Secrets: []string{wcToken}}},
			{ID: "leadflo", Vendor: "leadflo", Auth: config.Auth{Type: config.AuthHeaderSecret, Header: "X-Webhook-Secret", Secrets: []string{leadfloSecret}}},
			{ID: "sensei", Vendor: "sensei", Auth: config.Auth{Type: config.AuthStandardWebhooks, SigningKeys: [][]byte{senseiOldKey, senseiKey}}},
		},
		Tokens: []config.Token{
			{Name: "ops", Role: config.RoleOperator, Secrets: []string{operatorToken}},
			{Name: "audit", Role: config.RoleAuditor, Secrets: []string{auditorToken}},
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	api, err := httpapi.New(cfg, store)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	srv := httptest.NewServer(checkedAgainstOpenAPI(t, api))
	t.Cleanup(func() {
		srv.Close()
		stopView()
		<-viewDone
		<-deliveryDone
		_ = store.Close()
		for _, secret := range allSecrets {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("a secret appears in the logs: %q", secret)
			}
		}
	})
	l.url, l.api = srv.URL, api
	return l
}

func exampleBody(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../vendors/testdata/" + name)
	if err != nil {
		t.Fatalf("read vendor example: %v", err)
	}
	return b
}

// post sends an ingest request; auth is applied by the caller through mutate.
func (l *ledger) post(t *testing.T, path string, body []byte, mutate func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, l.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if mutate != nil {
		mutate(req)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	status, reply, _ := doWithHeaders(t, req)
	return status, reply
}

// doWithHeaders is do, with the reply's headers too.
func doWithHeaders(t *testing.T, req *http.Request) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", req.Method, req.URL.Path, ct, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("reply is not JSON: %s", data)
	}
	return resp.StatusCode, out, resp.Header
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// signed signs a request the Standard Webhooks way, at a given time, with a given key.
func signed(key []byte, at time.Time, body []byte) func(*http.Request) {
	return func(r *http.Request) {
		id, ts := "msg_"+hex.EncodeToString(key[:4]), fmt.Sprint(at.Unix())
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + string(body)))
		r.Header.Set("webhook-id", id)
		r.Header.Set("webhook-timestamp", ts)
		r.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
}

// events reads the whole global log through the API.
func (l *ledger) events(t *testing.T) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.url+"/v1/events?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	status, body := do(t, req)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/events: %d %v", status, body)
	}
	var out []map[string]any
	for _, e := range body["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func TestIngest(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Run("vendor examples are stored", func(t *testing.T) { testVendorExamples(t, backend) })
			t.Run("rejections", func(t *testing.T) { testRejections(t, backend) })
			t.Run("store failure", func(t *testing.T) { testStoreFailure(t, backend) })
		})
	}
}

func testVendorExamples(t *testing.T, backend string) {
	l := newLedger(t, backend)
	sensei := exampleBody(t, "sensei-lead-created.json")
	cases := []struct {
		name, path, file, wantType string
		auth                       func(*http.Request)
	}{
		{"conversica", "/v1/ingest/conversica", "conversica-lead.json", "LeadCaptured", basic("conversica", conversicaPass)},
		{"whatconverts new", "/v1/ingest/whatconverts?token=" + wcToken, "whatconverts-chat-new.json", "LeadCaptured", nil},
		{"leadflo visitor", "/v1/ingest/leadflo", "leadflo-visitor-created.json", "LeadCaptured", header("X-Webhook-Secret", leadfloSecret)},
		{"leadflo ended", "/v1/ingest/leadflo", "leadflo-conversation-ended.json", "ConversationEnded", header("x-webhook-secret", leadfloSecret)},
		{"sensei", "/v1/ingest/sensei", "sensei-lead-created.json", "LeadCaptured", signed(senseiKey, l.now, sensei)},
		{"sensei old key during rotation", "/v1/ingest/sensei", "sensei-lead-created.json", "LeadCaptured", signed(senseiOldKey, l.now.Add(-4*time.Minute), sensei)},
		{"sensei flat body", "/v1/ingest/sensei", "sensei-flat.json", "LeadCaptured", signed(senseiKey, l.now, exampleBody(t, "sensei-flat.json"))},
	}
	var positions []float64
	for _, c := range cases {
		body := exampleBody(t, c.file)
		status, reply := l.post(t, c.path, body, c.auth)
		if status != http.StatusOK || reply["status"] != "200" || reply["message"] != "Lead received successfully" {
			t.Fatalf("%s: %d %v", c.name, status, reply)
		}
		if reply["event_id"] == "" || reply["lead_id"] == "" {
			t.Fatalf("%s: reply lacks ids: %v", c.name, reply)
		}
		positions = append(positions, reply["position"].(float64))
		stored := l.events(t)
		e := stored[len(stored)-1]
		sum := sha256.Sum256(body)
		if e["id"] != reply["event_id"] || e["type"] != c.wantType || e["raw"] != string(body) || e["raw_sha256"] != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: stored event %v does not match the body as sent", c.name, e)
		}
		if h, _ := e["hash"].(string); len(h) != 64 || (len(stored) > 1 && h == stored[len(stored)-2]["hash"]) {
			t.Fatalf("%s: stored event's hash %q is not its own 64 hex digits of the chain", c.name, e["hash"])
		}
	}
	for i := 1; i < len(positions); i++ {
		if positions[i] <= positions[i-1] {
			t.Fatalf("positions %v are not increasing", positions)
		}
	}
	// The same LeadFloAgent visitor: both events belong to one lead, which the view shows whole.
	all := l.events(t)
	if all[2]["lead_id"] != all[3]["lead_id"] {
		t.Errorf("visitor_created and conversation_ended of vis_xyz have different lead ids")
	}
	status, lead := l.get(t, fmt.Sprintf("/v1/leads/%s?min_position=%d", all[3]["lead_id"], int64(positions[len(positions)-1])))
	conversations, _ := lead["conversations"].([]any)
	if status != 200 || lead["name"] != "Sarah Johnson" || lead["phone"] != "+1 555 123 4567" || len(conversations) != 1 || lead["event_count"].(float64) != 2 {
		t.Errorf("LeadFloAgent lead in the view: %d %v", status, lead)
	}
	// Conversica's and Sensei's leads are found by email, whatever its case and spaces.
	for email, want := range map[string]string{" JOHN.DOE@example.com": "conversica", "john@EXAMPLE.com ": "sensei"} {
		_, page := l.get(t, "/v1/leads?email="+url.QueryEscape(email))
		leads, _ := page["leads"].([]any)
		if len(leads) != 1 || leads[0].(map[string]any)["source"] != want {
			t.Errorf("email lookup %q: %v, want the %s lead", email, page, want)
		}
	}
}

func testRejections(t *testing.T, backend string) {
	l := newLedger(t, backend)
	conv := exampleBody(t, "conversica-lead.json")
	noEmail := bytes.Replace(conv, []byte(`"email"`), []byte(`"e-mail"`), 1)
	auth := basic("conversica", conversicaPass)
	sensei := exampleBody(t, "sensei-lead-created.json")
	cases := []struct {
		name       string
		path       string
		body       []byte
		auth       func(*http.Request)
		wantStatus int
		wantMsg    string
		kept       bool // kept as evidence of the rejection
	}{
		{"unknown source", "/v1/ingest/nope", conv, auth, 404, "Unknown source", false},
		{"no credentials", "/v1/ingest/conversica", conv, nil, 401, "Invalid credentials", false},
		{"wrong password", "/v1/ingest/conversica", conv, basic("conversica", "guess"), 401, "Invalid credentials", false},
		{"wrong user", "/v1/ingest/conversica", conv, basic("admin", conversicaPass), 401, "Invalid credentials", false},
		{"wrong url token", "/v1/ingest/whatconverts?token=guess", conv, nil, 401, "Invalid credentials", false},
		{"wrong header secret", "/v1/ingest/leadflo", conv, header("X-Webhook-Secret", "guess"), 401, "Invalid credentials", false},
		{"unknown signing key", "/v1/ingest/sensei", sensei, signed([]byte("another-key"), l.now, sensei), 401, "Invalid credentials", false},
		{"signature too old", "/v1/ingest/sensei", sensei, signed(senseiKey, l.now.Add(-6*time.Minute), sensei), 401, "Invalid credentials", false},
		{"signature from the future", "/v1/ingest/sensei", sensei, signed(senseiKey, l.now.Add(6*time.Minute), sensei), 401, "Invalid credentials", false},
		{"body changed after signing", "/v1/ingest/sensei", append([]byte(" "), sensei...), signed(senseiKey, l.now, sensei), 401, "Invalid credentials", false},
		{"missing email", "/v1/ingest/conversica", noEmail, auth, 400, "Missing required field: email", true},
		{"not JSON", "/v1/ingest/conversica", []byte(`{"firstName":`), auth, 400, "", true},
		{"invalid UTF-8", "/v1/ingest/conversica", []byte("{\"firstName\":\"\xff\"}"), auth, 400, "Body is not valid UTF-8", true},
		{"empty body", "/v1/ingest/conversica", nil, auth, 400, "", true},
		{"too large", "/v1/ingest/conversica", bytes.Repeat([]byte(" "), 64<<10+1), auth, 413, "Body exceeds the limit of 65536 bytes", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := l.store.CountRejections(context.Background(), "conversica")
			status, reply := l.post(t, c.path, c.body, c.auth)
			if status != c.wantStatus || reply["status"] != fmt.Sprint(c.wantStatus) {
				t.Fatalf("status %d %v, want %d", status, reply, c.wantStatus)
			}
			msg, _ := reply["message"].(string)
			if c.wantMsg != "" && msg != c.wantMsg || msg == "" {
				t.Fatalf("message %q, want %q", msg, c.wantMsg)
			}
			after, _ := l.store.CountRejections(context.Background(), "conversica")
			if kept := after == before+1; kept != c.kept {
				t.Fatalf("kept as evidence = %v, want %v", kept, c.kept)
			}
		})
	}
	if n := len(l.events(t)); n != 0 {
		t.Fatalf("%d events stored from rejected requests, want none", n)
	}
}

func testStoreFailure(t *testing.T, backend string) {
	l := newLedger(t, backend)
	body := exampleBody(t, "leadflo-visitor-created.json")
	auth := header("X-Webhook-Secret", leadfloSecret)
	// The log's table disappears under the server: the vendor must hear it was not stored.
	if _, err := l.store.DB().Exec(`ALTER TABLE ledger_events RENAME TO ledger_events_gone`); err != nil {
		t.Fatalf("rename table: %v", err)
	}
	status, reply := l.post(t, "/v1/ingest/leadflo", body, auth)
	if status != http.StatusInternalServerError || reply["status"] != "500" {
		t.Fatalf("with the table gone: %d %v, want 500", status, reply)
	}
	if _, err := l.store.DB().Exec(`ALTER TABLE ledger_events_gone RENAME TO ledger_events`); err != nil {
		t.Fatalf("rename table back: %v", err)
	}
	if status, _ := l.post(t, "/v1/ingest/leadflo", body, auth); status != http.StatusOK {
		t.Fatalf("after the table is back: %d, want 200", status)
	}
	if n := len(l.events(t)); n != 1 {
		t.Fatalf("log has %d events, want exactly the acknowledged one", n)
	}
	_ = l.store.Close()
	status, reply = l.post(t, "/v1/ingest/leadflo", body, auth)
	if status != http.StatusServiceUnavailable || reply["status"] != "503" {
		t.Fatalf("with the store closed: %d %v, want 503", status, reply)
	}
}
