package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// countingReceiver acknowledges every delivery after a short delay and counts them by webhook-id.
type countingReceiver struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	byID     map[string]int
	requests int
	arrived  int           // requests that reached the handler
	holdAt   int           // requests past this many wait on hold
	hold     chan struct{} // nil: nothing waits
}

func newCountingReceiver(t *testing.T, delay time.Duration) *countingReceiver {
	r := &countingReceiver{t: t, byID: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.arrived++
		hold := r.hold
		if r.arrived <= r.holdAt {
			hold = nil
		}
		r.mu.Unlock()
		if hold != nil {
			<-hold
		}
		var body struct {
			ID string `json:"id"`
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		if id := req.Header.Get("webhook-id"); id != body.ID {
			t.Errorf("webhook-id %q is not the event id %q", id, body.ID)
		}
		time.Sleep(delay)
		r.mu.Lock()
		r.byID[body.ID]++
		r.requests++
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// holdAfter makes every request after the first n wait, unanswered, until release is called
// (at the latest when the test ends): a kill then lands mid-delivery however fast or slow the
// machine is.
func (r *countingReceiver) holdAfter(n int) (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hold := make(chan struct{})
	r.hold, r.holdAt = hold, n
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	r.t.Cleanup(release) // before the server's Close, which waits for its handlers
	return release
}

func (r *countingReceiver) counts() (distinct, requests int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID), r.requests
}

func (s *server) api(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testOperator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode >= 300 || json.Unmarshal(data, &out) != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return out
}

// postWebhooks sends n webhooks over 50 visitors and fails the test unless all are acknowledged.
func postWebhooks(t *testing.T, url string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				body := fmt.Sprintf(`{"event":"visitor_created","websiteId":"w","data":{"visitor":{"id":"vis_%d","seq":%d}}}`, i%50, i)
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/ingest/leadflo", strings.NewReader(body))
				req.Header.Set("X-Webhook-Secret", testSecret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("post webhook: %v %v", resp, err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// kill -9 in the middle of a replay and of a sink's first delivery of the log: after a restart
// both complete, nothing is skipped, and only what was in flight (sent, its acknowledgement not
// yet saved) is sent again, under the same webhook-id.
func TestKill9MidReplayThenRestart(t *testing.T) {
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			const events, delay = 1000, 10 * time.Millisecond
			dir, addr := t.TempDir(), freeAddr(t)
			cfg := writeConfig(t, dir, addr, eventstoretest.URL(t, backend))
			srv := start(t, cfg, addr)
			postWebhooks(t, srv.url, events)

			liveRcv, replayRcv := newCountingReceiver(t, delay), newCountingReceiver(t, delay)
			releaseLive, releaseReplay := liveRcv.holdAfter(events/4), replayRcv.holdAfter(events/4)
			secret := "whsec_c2luay1zaWduaW5nLWtleS1mb3ItdGVzdHMtMzI="
			srv.api(t, "POST", "/v1/sinks", `{"name":"live","type":"webhook","url":"`+liveRcv.srv.URL+`","secret":"`+secret+`","start":"beginning"}`)
			sink := srv.api(t, "POST", "/v1/sinks", `{"name":"replayed","type":"webhook","url":"`+replayRcv.srv.URL+`","secret":"`+secret+`","start":"now"}`)
			replay := srv.api(t, "POST", "/v1/sinks/"+sink["id"].(string)+"/replays", `{"from_position":0}`)
			if replay["total"].(float64) != events {
				t.Fatalf("replay total %v, want %d", replay["total"], events)
			}
			// Both receivers answer the first quarter, then hold every request: the kill lands in
			// the middle of both deliveries, however fast or slow the machine.
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				a, _ := liveRcv.counts()
				b, _ := replayRcv.counts()
				if a >= events/4 && b >= events/4 {
					break
				}
				if time.Now().After(deadline) {
					_ = srv.cmd.Process.Kill()
					t.Fatalf("deliveries did not start: %d live, %d replayed", a, b)
				}
			}
			_ = srv.cmd.Process.Signal(syscall.SIGKILL)
			_ = srv.cmd.Wait()
			releaseLive() // what was held was in flight at the kill: it counts, and is sent again
			releaseReplay()

			srv = start(t, cfg, addr)
			defer func() { _ = srv.cmd.Process.Kill(); _ = srv.cmd.Wait() }()
			replayPath := "/v1/replays/" + replay["id"].(string)
			for deadline := time.Now().Add(60 * time.Second); srv.api(t, "GET", replayPath, "")["status"] != "completed"; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("replay not completed after the restart: %v", srv.api(t, "GET", replayPath, ""))
				}
			}
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if d, _ := liveRcv.counts(); d == events {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("live delivery did not finish after the restart")
				}
			}
			// In flight at the kill: up to 16 requests per cursor, plus what was acknowledged in
			// the last poll interval (100 ms) before the progress was saved.
			bound := 16 * (int(100*time.Millisecond/delay) + 1)
			for name, r := range map[string]*countingReceiver{"live": liveRcv, "replay": replayRcv} {
				distinct, requests := r.counts()
				if distinct != events {
					t.Errorf("%s: %d distinct events delivered, want all %d", name, distinct, events)
				}
				if repeats := requests - distinct; repeats > 2*bound {
					t.Errorf("%s: %d events sent again after the restart, more than could be in flight (%d)", name, repeats, bound)
				} else {
					t.Logf("%s: %d events, %d sent again after kill -9 (bound %d)", name, distinct, repeats, bound)
				}
			}
		})
	}
}
