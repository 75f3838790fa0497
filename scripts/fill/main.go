// Command fill appends generated LeadFloAgent webhooks straight into a log, through the event
// store's own append (hash chain, lead keys, sealing and all), much faster than over HTTP: a
// way to build a large log to measure against. It writes only to the database it is given.
//
//	go run ./scripts/fill -database postgres://... -events 10000000 -leads 2000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadledger/leadledger/adapters/vendors"
	"github.com/leadledger/leadledger/domain"
	"github.com/leadledger/leadledger/eventstore"
)

func main() {
	database := flag.String("database", "", "the log's database URL (sqlite:PATH or postgres://...)")
	events := flag.Int64("events", 1_000_000, "events to append")
	leads := flag.Int64("leads", 200_000, "distinct visitors the events are spread over")
	writers := flag.Int("c", 4, "concurrent appenders")
	batch := flag.Int("batch", 256, "events per append call")
	flag.Parse()
	if err := fill(*database, *events, *leads, *writers, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "fill:", err)
		os.Exit(1)
	}
}

func fill(database string, total, leads int64, writers, batch int) error {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, eventstore.Config{URL: database, MaxBatch: batch,
		CommitTimeout: time.Minute, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	parse, _ := vendors.ForVendor("leadflo")
	var next, done atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for {
				first := next.Add(int64(batch)) - int64(batch)
				if first >= total {
					return
				}
				var events []domain.Event
				for n := first; n < min(first+int64(batch), total); n++ {
					e, err := event(parse, n, leads)
					if err != nil {
						errs <- err
						return
					}
					events = append(events, e)
				}
				if _, err := store.Append(ctx, events...); err != nil {
					errs <- fmt.Errorf("append events %d to %d: %w", first, first+int64(len(events)), err)
					return
				}
				if d := done.Add(int64(len(events))); d/1_000_000 != (d-int64(len(events)))/1_000_000 {
					fmt.Printf("%d events, %.0f/s\n", d, float64(d)/time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("appended %d events over %d leads in %s: %.0f events/s\n", done.Load(), min(leads, total), took.Round(time.Second), float64(done.Load())/took.Seconds())
	return nil
}

// event is the n-th webhook: a visitor_created of visitor n % leads, as a vendor would send it.
func event(parse vendors.Parser, n, leads int64) (domain.Event, error) {
	at := time.Now().UTC()
	raw := fmt.Appendf(nil, `{"event":"visitor_created","timestamp":"%s","websiteId":"web_fill","data":{"visitor":`+
		`{"id":"vis_%d","name":"Fill Visitor %d","email":"visitor%d@example.com","phone":"+1 555 000 %04d",`+
		`"qualityScore":%d,"customFields":{"intent":"Buy","seq":%d}}}}`,
		at.Format(time.RFC3339Nano), n%leads, n, n%leads, n%10000, n%100, n)
	p, err := parse(raw)
	if err != nil {
		return domain.Event{}, fmt.Errorf("parse event %d: %w", n, err)
	}
	return domain.NewEvent("leadflo", "leadflo", p, raw, at), nil
}
