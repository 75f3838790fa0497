package eventstore_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// BenchmarkAppend measures durable appends from 32 concurrent callers, one event each, as
// ingest makes them: go test -run=^$ -bench=Append -benchtime=20000x ./eventstore/
func BenchmarkAppend(b *testing.B) {
	for _, backend := range eventstoretest.Backends {
		b.Run(backend, func(b *testing.B) {
			s := openStore(b, eventstoretest.URL(b, backend))
			var n atomic.Int64
			b.SetParallelism(32 / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := s.Append(b.Context(), newEvent("bench", fmt.Sprint("lead", i%1000), int(i))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
