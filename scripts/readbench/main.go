// Command readbench measures the read API of a running ledger: a lead's history
// (GET /v1/leads/{id}/events), an email lookup (GET /v1/leads?email=) and a page of the log
// after a random position (GET /v1/events?after=N&limit=100), from concurrent
// readers over leads sampled from the view; with -proofs, an event's inclusion proof
// (GET /v1/events/{id}/proof) and a consistency proof against the latest checkpoint, over events
// sampled from the log. Loopback only; it stops by itself.
//
//	go run ./scripts/readbench -url http://127.0.0.1:8080 -token demo-auditor-token -d 20s
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

type lead struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "ledger base URL")
	token := flag.String("token", "demo-auditor-token", "auditor token")
	readers := flag.Int("c", 8, "concurrent readers")
	duration := flag.Duration("d", 20*time.Second, "how long to read")
	sample := flag.Int("sample", 5000, "leads (or events) to sample")
	proofs := flag.Bool("proofs", false, "measure inclusion and consistency proofs instead")
	flag.Parse()
	client := &http.Client{Timeout: 10 * time.Second}
	targets, names, err := leadTargets(client, *base, *token, *sample)
	if *proofs {
		targets, names, err = proofTargets(client, *base, *token, *sample)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "readbench: nothing to read:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	latencies := map[string][]time.Duration{}
	var wg sync.WaitGroup
	deadline := time.Now().Add(*duration)
	for r := 0; r < *readers; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for time.Now().Before(deadline) {
				for name, path := range targets(rng) {
					took, err := get(client, *base+path, *token)
					if err != nil {
						fmt.Fprintln(os.Stderr, "readbench:", err)
						return
					}
					mu.Lock()
					latencies[name] = append(latencies[name], took)
					mu.Unlock()
				}
			}
		}(uint64(r))
	}
	wg.Wait()
	for _, name := range names {
		d := latencies[name]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		if len(d) == 0 {
			continue
		}
		p := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))].Round(10 * time.Microsecond) }
		fmt.Printf("%-16s requests=%d p50=%s p99=%s max=%s\n", name, len(d), p(.5), p(.99), p(1))
	}
}

// targets picks the next paths to read, by measure name.
type targets func(rng *rand.Rand) map[string]string

func leadTargets(client *http.Client, base, token string, n int) (targets, []string, error) {
	leads, err := sampleLeads(client, base, token, n)
	if err == nil && len(leads) == 0 {
		err = fmt.Errorf("the view has no leads")
	}
	var status struct {
		Head int64 `json:"head"`
	}
	if err == nil {
		err = getJSON(client, base+"/v1/status", token, &status)
	}
	return func(rng *rand.Rand) map[string]string {
		l := leads[rng.IntN(len(leads))]
		return map[string]string{
			"history":      "/v1/leads/" + l.ID + "/events",
			"email lookup": "/v1/leads?email=" + url.QueryEscape(l.Email),
			"events after": fmt.Sprintf("/v1/events?after=%d&limit=100", rng.Int64N(status.Head)),
		}
	}, []string{"history", "email lookup", "events after"}, err
}

// proofTargets samples n events of the latest checkpoint's tree, at random positions.
func proofTargets(client *http.Client, base, token string, n int) (targets, []string, error) {
	var latest struct {
		TreeSize int64 `json:"tree_size"`
	}
	if err := getJSON(client, base+"/v1/checkpoints/latest", token, &latest); err != nil {
		return nil, nil, err
	}
	var ids []string
	for range n {
		var page struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		if err := getJSON(client, fmt.Sprintf("%s/v1/events?limit=1&after=%d", base, rand.Int64N(latest.TreeSize)), token, &page); err != nil {
			return nil, nil, err
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
	}
	return func(rng *rand.Rand) map[string]string {
		return map[string]string{
			"inclusion proof":   "/v1/events/" + ids[rng.IntN(len(ids))] + "/proof",
			"consistency proof": fmt.Sprintf("/v1/checkpoints/consistency?first=%d&second=%d", 1+rng.Int64N(latest.TreeSize), latest.TreeSize),
		}
	}, []string{"inclusion proof", "consistency proof"}, nil
}

func getJSON(client *http.Client, u, token string, out any) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func sampleLeads(client *http.Client, base, token string, n int) ([]lead, error) {
	var out []lead
	cursor := ""
	for len(out) < n {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/leads?limit=1000&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Leads      []lead `json:"leads"`
			NextCursor string `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, page.Leads...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	return out, nil
}

func get(client *http.Client, u, token string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return time.Since(start), nil
}
