// Command receiver is a webhook receiver for benchmarks: it acknowledges every POST at once and
// counts them (GET /count answers the number). It listens on loopback only and stops after -d.
//
//	go run ./scripts/receiver -listen 127.0.0.1:18095
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18095", "loopback address to listen on")
	life := flag.Duration("d", 30*time.Minute, "stop after this long")
	flag.Parse()
	if !strings.HasPrefix(*listen, "127.") && !strings.HasPrefix(*listen, "localhost:") {
		fmt.Fprintln(os.Stderr, "receiver: listen on a loopback address only")
		os.Exit(2)
	}
	var count atomic.Int64
	srv := &http.Server{Addr: *listen, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/count" {
			fmt.Fprintln(w, count.Load())
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		count.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	ctx, cancel := context.WithTimeout(context.Background(), *life)
	defer cancel()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}
