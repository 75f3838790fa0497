// Command loadgen posts LeadFloAgent webhooks to a running ledger from concurrent senders for a
// fixed time (or count, or rate) and prints throughput and latency; with -lag-token it also
// measures how long an acknowledged webhook takes to show in the lead view. It only targets the
// URL it is given (loopback in every script here) and stops by itself.
//
//	go run ./scripts/loadgen -url http://127.0.0.1:8080 -secret demo-leadflo-secret -c 32 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	base, source, secret string
	senders              int
	duration             time.Duration
	total                int64 // stop after this many (0: no limit)
	rate                 int   // webhooks per second over all senders (0: as fast as they can)
	leads                int
	ackedOut             string
	lagToken             string // auditor token: probe the lead view's lag through /v1/status
}

func main() {
	var o options
	flag.StringVar(&o.base, "url", "http://127.0.0.1:8080", "ledger base URL")
	flag.StringVar(&o.source, "source", "leadflo", "a leadflo source id")
	flag.StringVar(&o.secret, "secret", "demo-leadflo-secret", "the source's X-Webhook-Secret")
	flag.IntVar(&o.senders, "c", 32, "concurrent senders")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "how long to send, at most")
	flag.Int64Var(&o.total, "n", 0, "stop after this many webhooks (0: no limit)")
	flag.IntVar(&o.rate, "rate", 0, "webhooks per second over all senders (0: as fast as possible)")
	flag.IntVar(&o.leads, "leads", 5000, "distinct visitors the webhooks are spread over")
	flag.StringVar(&o.ackedOut, "acked", "", "file to write each acknowledged event id to, one per line")
	flag.StringVar(&o.lagToken, "lag-token", "", "auditor token: also measure ingest-to-view lag")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type result struct {
	latencies []time.Duration
	statuses  map[int]int
	acked     []string
}

func run(o options) error {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.senders + 1, MaxConnsPerHost: o.senders + 1},
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var seq atomic.Int64
	results := make([]result, o.senders)
	var wg sync.WaitGroup
	start := time.Now()
	// With -rate, each send claims the next slot of a fixed schedule (start + k/rate) and waits
	// for it: a time.Ticker at a 1 ms period loses ticks on a busy or coarse-timer machine (929/s
	// for -rate 1000 on a 2-core VM), and a schedule keeps the asked-for average.
	var pace func() bool // false when the time is up
	if o.rate > 0 {
		interval := time.Second / time.Duration(o.rate)
		var slot atomic.Int64
		pace = func() bool {
			wait := time.Until(start.Add(time.Duration(slot.Add(1)-1) * interval))
			if wait <= 0 {
				return ctx.Err() == nil
			}
			timer := time.NewTimer(wait)
			defer timer.Stop()
			select {
			case <-timer.C:
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
	for i := range results {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			r.statuses = map[int]int{}
			for ctx.Err() == nil {
				if pace != nil && !pace() {
					return
				}
				n := seq.Add(1)
				if o.total > 0 && n > o.total {
					return
				}
				reply, took := post(client, o, n)
				r.statuses[reply.status]++
				if reply.status == http.StatusOK {
					r.latencies = append(r.latencies, took)
					r.acked = append(r.acked, reply.EventID)
				}
			}
		}(&results[i])
	}
	var lags []time.Duration
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		if o.lagToken != "" {
			lags = probeLag(ctx, client, o, &seq)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-probeDone

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
	p := percentiles(all)
	fmt.Printf("senders=%d duration=%s acked=%d rate=%.0f/s p50=%s p90=%s p99=%s max=%s statuses=%v\n",
		o.senders, elapsed.Round(time.Millisecond), len(all), float64(len(all))/elapsed.Seconds(),
		p(.50), p(.90), p(.99), p(1), statuses)
	if o.lagToken != "" {
		l := percentiles(lags)
		fmt.Printf("ingest-to-view lag: samples=%d p50=%s p99=%s max=%s\n", len(lags), l(.50), l(.99), l(1))
	}
	if o.ackedOut != "" {
		return writeLines(o.ackedOut, acked)
	}
	return nil
}

// percentiles sorts the samples and returns a function giving the p-th one.
func percentiles(samples []time.Duration) func(p float64) time.Duration {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return func(p float64) time.Duration {
		if len(samples) == 0 {
			return 0
		}
		return samples[int(p*float64(len(samples)-1))].Round(10 * time.Microsecond)
	}
}
