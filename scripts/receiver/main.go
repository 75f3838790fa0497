// Command receiver is a webhook receiver for benchmarks and fault drills: it acknowledges every
// POST at once and counts them (GET /count answers the number). It listens on loopback only and
// stops after -d.
//
// With -record it also keeps, in arrival order, the id, lead and position of every delivery it
// acknowledged (the body of a webhook sink's delivery), for scripts/chaos to check that nothing
// was lost and that each lead's events came in log order:
//
//	GET  /_deliveries          one JSON object a line: {"id","lead_id","position","at"} (at: Unix ns)
//	POST /_answer?status=503   answer every delivery with this status from now on (204: normal
//	                           again); deliveries answered with an error are not recorded
//
//	go run ./scripts/receiver -listen 127.0.0.1:18095
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// delivery is one acknowledged delivery, as GET /_deliveries lists it.
type delivery struct {
	ID       string `json:"id"`
	LeadID   string `json:"lead_id"`
	Position int64  `json:"position"`
	At       int64  `json:"at"`
}

// recorder keeps the acknowledged deliveries and the status to answer with.
type recorder struct {
	mu         sync.Mutex
	deliveries []delivery
	answer     int
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18095", "loopback address to listen on")
	life := flag.Duration("d", 30*time.Minute, "stop after this long")
	record := flag.Bool("record", false, "keep every acknowledged delivery (GET /_deliveries) and obey POST /_answer")
	flag.Parse()
	if !strings.HasPrefix(*listen, "127.") && !strings.HasPrefix(*listen, "localhost:") {
		fmt.Fprintln(os.Stderr, "receiver: listen on a loopback address only")
		os.Exit(2)
	}
	var count atomic.Int64
	rec := &recorder{answer: http.StatusNoContent}
	srv := &http.Server{Addr: *listen, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/count":
			fmt.Fprintln(w, count.Load())
		case *record && r.Method == http.MethodGet && r.URL.Path == "/_deliveries":
			rec.list(w)
		case *record && r.Method == http.MethodPost && r.URL.Path == "/_answer":
			rec.setAnswer(w, r)
		case *record:
			w.WriteHeader(rec.deliver(r, &count))
		default:
			_, _ = io.Copy(io.Discard, r.Body)
			count.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}
	})}
	ctx, cancel := context.WithTimeout(context.Background(), *life)
	defer cancel()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

// deliver records a delivery before answering it: the sink sends a lead's next event only after
// this answer, so the recorded order of each lead's events is the order they were delivered in.
func (rec *recorder) deliver(r *http.Request, count *atomic.Int64) int {
	var d delivery
	err := json.NewDecoder(r.Body).Decode(&d)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.answer >= 300 {
		return rec.answer
	}
	if err != nil || d.ID == "" {
		return http.StatusBadRequest
	}
	d.At = time.Now().UnixNano()
	rec.deliveries = append(rec.deliveries, d)
	count.Add(1)
	return rec.answer
}

func (rec *recorder) list(w http.ResponseWriter) {
	rec.mu.Lock()
	list := rec.deliveries[:len(rec.deliveries):len(rec.deliveries)]
	rec.mu.Unlock()
	enc := json.NewEncoder(w)
	for _, d := range list {
		if enc.Encode(d) != nil {
			return
		}
	}
}

func (rec *recorder) setAnswer(w http.ResponseWriter, r *http.Request) {
	status, err := strconv.Atoi(r.URL.Query().Get("status"))
	if err != nil || status < 200 || status > 599 {
		http.Error(w, "status: an HTTP status from 200 to 599", http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	rec.answer = status
	rec.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
