package llm_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentfleet/fleet/host/llm"
	"github.com/agentfleet/fleet/host/offline"
)

// BenchmarkStream measures chunks per second through the adapter from the offline model at zero
// token delay, over real HTTP on 127.0.0.1 (server, client and adapter share the machine's
// cores). Each call streams words+2 chunks (word pieces, finish, usage).
func BenchmarkStream(b *testing.B) {
	for _, words := range []int{16, 256, 4096} {
		b.Run(fmt.Sprintf("words=%d", words), func(b *testing.B) {
			e := newEnv(b, offline.Options{}, llm.Config{})
			req := userReq("Say exactly:" + strings.Repeat(" word", words))
			chunks := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s, err := e.client.Stream(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				r, err := collect(b, s)
				if err != nil {
					b.Fatal(err)
				}
				chunks += r.chunks
			}
			b.ReportMetric(float64(chunks)/b.Elapsed().Seconds(), "chunks/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
		})
	}
}

// BenchmarkStreamParallel is BenchmarkStream with concurrent calls.
func BenchmarkStreamParallel(b *testing.B) {
	e := newEnv(b, offline.Options{}, llm.Config{})
	req := userReq("Say exactly:" + strings.Repeat(" word", 256))
	var total atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			s, err := e.client.Stream(context.Background(), req)
			if err != nil {
				b.Error(err)
				return
			}
			r, err := collect(b, s)
			if err != nil {
				b.Error(err)
				return
			}
			n += r.chunks
		}
		total.Add(int64(n))
	})
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "chunks/s")
}
