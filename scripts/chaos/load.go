package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	senders = 8
	leads   = 60 // few leads, so that each gets many events whose order can be checked
)

// load posts LeadFloAgent visitor_created webhooks from several senders, spread over the
// ledgers' URLs (a sender whose ledger does not answer moves to the next one), and keeps the
// event id of every 200.
type load struct {
	urls []string
	mu   sync.Mutex
	// acked is every event id answered 200, codes every answer by status (0: no answer).
	acked []string
	codes map[int]int
	// noRetryAfter counts 503s without Retry-After; badAck 200s without an event id.
	noRetryAfter, badAck int
	stop                 chan struct{}
	wg                   sync.WaitGroup
}

func startLoad(urls ...string) *load {
	l := &load{urls: urls, codes: map[int]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	for w := range senders {
		l.wg.Go(func() { l.send(client, w) })
	}
	return l
}

func (l *load) send(client *http.Client, w int) {
	target := w
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		lead := (w*7 + i) % leads
		body := fmt.Sprintf(`{"event":"visitor_created","timestamp":"2025-03-01T14:22:00.000Z","websiteId":"chaos","data":{"visitor":{"id":"vis_%d","email":"v%d@example.com","seq":%d,"sender":%d}}}`, lead, lead, i, w)
		url := l.urls[target%len(l.urls)]
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/ingest/leadflo", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", leadfloSecret)
		resp, err := client.Do(req)
		if err != nil {
			l.count(0, "", "")
			target++ // that ledger is down: try the next one
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var reply struct {
			EventID string `json:"event_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&reply)
		resp.Body.Close()
		l.count(resp.StatusCode, reply.EventID, resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusOK {
			time.Sleep(20 * time.Millisecond) // a vendor would wait Retry-After; the drills want to see many
		}
	}
}

func (l *load) count(code int, id, retryAfter string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.codes[code]++
	switch {
	case code == http.StatusOK && id == "":
		l.badAck++
	case code == http.StatusOK:
		l.acked = append(l.acked, id)
	case code == http.StatusServiceUnavailable && retryAfter == "":
		l.noRetryAfter++
	}
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// snapshot is a copy of the answers counted so far, by status.
func (l *load) snapshot() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.codes)
}

// finish stops the senders and returns the acknowledged event ids.
func (l *load) finish() []string {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	return l.acked
}

// waitAcked waits until at least n webhooks were acknowledged, in all.
func (e *env) waitAcked(l *load, n int, d time.Duration) {
	if !e.poll(d, func() bool { return l.ackedCount() >= n }) {
		abortf("only %d webhooks acknowledged in %s (answers %v)", l.ackedCount(), d, l.snapshot())
	}
}

// checkAnswers fails the drill on answers that are never right: a 500, a 200 without an event
// id, a 503 without Retry-After. It notes how many 503s came, and returns the acknowledged ids.
func (e *env) checkAnswers(l *load, ledgers ...*ledger) []string {
	acked := l.finish()
	e.res.acked = len(acked)
	codes := l.snapshot()
	if codes[503] > 0 {
		e.note("503s %d", codes[503])
	}
	if n := codes[500]; n > 0 {
		e.fail("%d webhooks answered 500; the server logged:\n%s", n, strings.Join(errorLines(ledgers), "\n"))
	}
	if l.badAck > 0 {
		e.fail("%d webhooks answered 200 without an event id", l.badAck)
	}
	if l.noRetryAfter > 0 {
		e.fail("%d webhooks answered 503 without Retry-After", l.noRetryAfter)
	}
	for code, n := range codes {
		if code != 0 && code != 200 && code != 500 && code != 503 {
			e.fail("%d webhooks answered %d", n, code)
		}
	}
	return acked
}

func errorLines(ledgers []*ledger) []string {
	var out []string
	for _, l := range ledgers {
		out = append(out, l.errors(5)...)
	}
	return out
}
