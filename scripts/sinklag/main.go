// Command sinklag measures live delivery latency: it adds a webhook sink pointing at its own
// loopback receiver, then posts LeadFloAgent webhooks one at a time to an otherwise idle ledger
// and times each from the ingest acknowledgement to its arrival at the receiver. It prints
// p50/p99 and removes the sink. Loopback only; it stops by itself.
//
//	go run ./scripts/sinklag -url http://127.0.0.1:8080 -token demo-operator-token -secret demo-leadflo-secret
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "ledger base URL")
	token := flag.String("token", "demo-operator-token", "operator token")
	secret := flag.String("secret", "demo-leadflo-secret", "the leadflo source's X-Webhook-Secret")
	n := flag.Int("n", 100, "webhooks to time")
	gap := flag.Duration("gap", 150*time.Millisecond, "pause between webhooks")
	flag.Parse()
	if err := run(*base, *token, *secret, *n, *gap); err != nil {
		fmt.Fprintln(os.Stderr, "sinklag:", err)
		os.Exit(1)
	}
}

func run(base, token, secret string, n int, gap time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			arrived[r.Header.Get("webhook-id")] = time.Now()
			mu.Unlock()
		}))
	}()
	sinkID, err := call(base+"/v1/sinks", token, `{"name":"sinklag","type":"webhook","url":"http://`+ln.Addr().String()+
		`/","secret":"whsec_c2lua2xhZy1zaWduaW5nLWtleS0zMi1ieXRlcyE=","start":"now"}`, "id")
	if err != nil {
		return fmt.Errorf("add sink: %w", err)
	}
	defer func() {
		req, _ := http.NewRequest(http.MethodDelete, base+"/v1/sinks/"+sinkID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(time.Second) // the engine picks the new sink up
	var lags []time.Duration
	for i := range n {
		body := fmt.Sprintf(`{"event":"visitor_created","websiteId":"w","data":{"visitor":{"id":"lag_%d"}}}`, i)
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/ingest/leadflo", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var reply struct {
			EventID string `json:"event_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&reply)
		resp.Body.Close()
		acked := time.Now()
		for deadline := acked.Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			at, ok := arrived[reply.EventID]
			mu.Unlock()
			if ok {
				lags = append(lags, at.Sub(acked))
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("event %s not delivered within 10s", reply.EventID)
			}
		}
		time.Sleep(gap)
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	q := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))].Round(100 * time.Microsecond) }
	fmt.Printf("ingest-to-sink latency, %d webhooks: p50=%s p99=%s max=%s\n", len(lags), q(0.5), q(0.99), lags[len(lags)-1].Round(100*time.Microsecond))
	return nil
}

// call POSTs a JSON body with a bearer token and returns one string field of the reply.
func call(url, token, body, field string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
		return "", fmt.Errorf("%s: %d %v", url, resp.StatusCode, out)
	}
	v, _ := out[field].(string)
	return v, nil
}
