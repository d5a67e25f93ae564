package llm_test

import (
	"context"
	"fmt"
	"net/http"
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

// BenchmarkAdapterOnly isolates the client side (go-openai's SSE reader and this adapter): the
// server writes a pre-rendered stream of 4096 content chunks in one write.
func BenchmarkAdapterOnly(b *testing.B) {
	const n = 4096
	var body strings.Builder
	for range n {
		body.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}` + "\n\n")
	}
	body.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	body.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":4096,"total_tokens":4097}}` + "\n\ndata: [DONE]\n\n")
	payload := []byte(body.String())
	base := startHandler(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(payload)
	}))
	c, err := llm.New(llm.Config{Name: "bench", BaseURL: base, DefaultModel: "m"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	chunks := 0
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.Stream(context.Background(), userReq("hi"))
		if err != nil {
			b.Fatal(err)
		}
		r, err := collect(b, s)
		if err != nil || r.chunks != n+2 {
			b.Fatal(err, r.chunks)
		}
		chunks += r.chunks
	}
	b.ReportMetric(float64(chunks)/b.Elapsed().Seconds(), "chunks/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
}
