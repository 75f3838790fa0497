package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

type ingestReply struct {
	status   int
	EventID  string `json:"event_id"`
	Position int64  `json:"position"`
}

// post sends one visitor_created webhook; status 0 means no answer.
func post(client *http.Client, o options, n int64) (reply ingestReply, took time.Duration) {
	body := fmt.Sprintf(`{"event":"visitor_created","timestamp":"%s","websiteId":"web_load","data":{"visitor":`+
		`{"id":"vis_%d","name":"Load Visitor %d","email":"visitor%d@example.com","phone":"+1 555 000 %04d",`+
		`"qualityScore":%d,"customFields":{"intent":"Buy","seq":%d}}}}`,
		time.Now().UTC().Format(time.RFC3339Nano), n%int64(o.leads), n, n%int64(o.leads), n%10000, n%100, n)
	req, err := http.NewRequest(http.MethodPost, o.base+"/v1/ingest/"+o.source, bytes.NewBufferString(body))
	if err != nil {
		return reply, 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", o.secret)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return reply, 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	took = time.Since(start)
	_ = json.Unmarshal(data, &reply)
	reply.status = resp.StatusCode
	return reply, took
}

// probeLag sends a webhook every 100 ms and measures how long after its acknowledgement the
// lead view's position (GET /v1/status) reaches it.
func probeLag(ctx context.Context, client *http.Client, o options, seq *atomic.Int64) []time.Duration {
	var lags []time.Duration
	for ctx.Err() == nil {
		reply, _ := post(client, o, seq.Add(1))
		if reply.status == http.StatusOK {
			acked := time.Now()
			for ctx.Err() == nil && viewPosition(client, o) < reply.Position {
				time.Sleep(2 * time.Millisecond)
			}
			if ctx.Err() == nil {
				lags = append(lags, time.Since(acked))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return lags
}

func viewPosition(client *http.Client, o options) int64 {
	req, _ := http.NewRequest(http.MethodGet, o.base+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+o.lagToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var status struct {
		Projections []struct {
			Position int64 `json:"position"`
		} `json:"projections"`
	}
	if json.NewDecoder(resp.Body).Decode(&status) != nil || len(status.Projections) == 0 {
		return 0
	}
	return status.Projections[0].Position
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
