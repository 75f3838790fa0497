// Command loadgen posts LeadFloAgent webhooks to a running ledger from concurrent senders for a
// fixed time and prints throughput and latency. It only targets the URL it is given (loopback
// in every script here) and stops by itself.
//
//	go run ./scripts/loadgen -url http://127.0.0.1:8080 -secret demo-leadflo-secret -c 32 -d 10s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "ledger base URL")
		source   = flag.String("source", "leadflo", "a leadflo source id")
		secret   = flag.String("secret", "demo-leadflo-secret", "the source's X-Webhook-Secret")
		senders  = flag.Int("c", 32, "concurrent senders")
		duration = flag.Duration("d", 10*time.Second, "how long to send, at most")
		total    = flag.Int64("n", 0, "stop after this many webhooks (0: no limit)")
		leads    = flag.Int("leads", 5000, "distinct visitors the webhooks are spread over")
		ackedOut = flag.String("acked", "", "file to write each acknowledged event id to, one per line")
	)
	flag.Parse()
	if err := run(*base+"/v1/ingest/"+*source, *secret, *senders, *duration, *total, *leads, *ackedOut); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type result struct {
	latencies []time.Duration
	statuses  map[int]int
	acked     []string
}

func run(url, secret string, senders int, duration time.Duration, total int64, leads int, ackedOut string) error {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders},
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var seq atomic.Int64
	results := make([]result, senders)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			r.statuses = map[int]int{}
			for ctx.Err() == nil {
				n := seq.Add(1)
				if total > 0 && n > total {
					return
				}
				status, eventID, took := post(client, url, secret, n, leads)
				r.statuses[status]++
				if status == http.StatusOK {
					r.latencies = append(r.latencies, took)
					r.acked = append(r.acked, eventID)
				}
			}
		}(&results[i])
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []time.Duration
	statuses := map[int]int{}
	var acked []string
	for _, r := range results {
		all = append(all, r.latencies...)
		acked = append(acked, r.acked...)
		for s, c := range r.statuses {
			statuses[s] += c
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[int(p*float64(len(all)-1))]
	}
	fmt.Printf("senders=%d duration=%s acked=%d rate=%.0f/s p50=%s p90=%s p99=%s max=%s statuses=%v\n",
		senders, elapsed.Round(time.Millisecond), len(all), float64(len(all))/elapsed.Seconds(),
		pct(.50).Round(10*time.Microsecond), pct(.90).Round(10*time.Microsecond),
		pct(.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond), statuses)
	if ackedOut != "" {
		return writeLines(ackedOut, acked)
	}
	return nil
}

// post sends one visitor_created webhook; status 0 means no answer.
func post(client *http.Client, url, secret string, n int64, leads int) (status int, eventID string, took time.Duration) {
	body := fmt.Sprintf(`{"event":"visitor_created","timestamp":"%s","websiteId":"web_load","data":{"visitor":`+
		`{"id":"vis_%d","name":"Load Visitor %d","email":"visitor%d@example.com","phone":"+1 555 000 %04d",`+
		`"qualityScore":%d,"customFields":{"intent":"Buy","seq":%d}}}}`,
		time.Now().UTC().Format(time.RFC3339Nano), n%int64(leads), n, n%int64(leads), n%10000, n%100, n)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		return 0, "", 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", secret)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", 0
	}
	defer resp.Body.Close()
	var reply struct {
		EventID string `json:"event_id"`
	}
	data, _ := io.ReadAll(resp.Body)
	took = time.Since(start)
	_ = json.Unmarshal(data, &reply)
	return resp.StatusCode, reply.EventID, took
}

func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
