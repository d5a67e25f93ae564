package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type sseEv struct{ id, data string }

func readAll(t *testing.T, r io.Reader) ([]sseEv, error) {
	t.Helper()
	rd := newSSEReader(r)
	var out []sseEv
	for range 10_000 {
		id, data, err := rd.next()
		if err != nil {
			return out, err
		}
		out = append(out, sseEv{string(id), string(data)})
	}
	t.Fatal("too many events")
	return nil, nil
}

func TestSSEReader(t *testing.T) {
	long := strings.Repeat("x", 200_000)
	tests := []struct {
		name string
		in   string
		want []sseEv
	}{
		{"fleet frames", "id: run_1:1\ndata: {\"a\":1}\n\nid: run_1:2:0\ndata: {\"b\":2}\n\n",
			[]sseEv{{"run_1:1", `{"a":1}`}, {"run_1:2:0", `{"b":2}`}}},
		{"comments and heartbeats", ": ping\n\ndata: x\n\n: shutdown\ndata: y\n\n", []sseEv{{"", "x"}, {"", "y"}}},
		{"multi-line data", "data: a\ndata: b\ndata:c\n\n", []sseEv{{"", "a\nb\nc"}}},
		{"CRLF", "id: r:1\r\ndata: a\r\n\r\n", []sseEv{{"r:1", "a"}}},
		{"id without data is no event", "id: r:1\n\ndata: a\n\n", []sseEv{{"", "a"}}},
		{"unknown fields ignored", "event: x\nretry: 10\ndata: a\n\n", []sseEv{{"", "a"}}},
		{"cut-off event dropped", "data: a\n\ndata: b\n", []sseEv{{"", "a"}}},
		{"line longer than the buffer", "data: " + long + "\n\n", []sseEv{{"", long}}},
		{"vercel done", "data: {}\n\ndata: [DONE]\n\n", []sseEv{{"", "{}"}, {"", "[DONE]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, strings.NewReader(tt.in))
			if !errors.Is(err, io.EOF) {
				t.Fatalf("err = %v, want EOF", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %.200v\nwant %.200v", got, tt.want)
			}
		})
	}
}

func TestSSEReaderLineTooLong(t *testing.T) {
	_, err := readAll(t, strings.NewReader("data: "+strings.Repeat("x", sseMaxLine+1)+"\n\n"))
	if !errors.Is(err, errLineTooLong) {
		t.Fatalf("err = %v, want errLineTooLong", err)
	}
}

func TestSSEReaderReset(t *testing.T) {
	rd := newSSEReader(strings.NewReader("data: a\n"))
	if _, _, err := rd.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v", err)
	}
	rd.reset(strings.NewReader("id: r:3\ndata: b\n\n"))
	id, data, err := rd.next()
	if err != nil || string(id) != "r:3" || string(data) != "b" {
		t.Fatalf("after reset: %q %q %v", id, data, err)
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add("id: r:1\ndata: {}\n\n")
	f.Add(": ping\n\ndata: a\r\ndata: b\r\n\r\n")
	f.Add("data\n\ndata:\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		rd := newSSEReader(strings.NewReader(in))
		for range len(in) + 1 {
			_, data, err := rd.next()
			if err != nil {
				return
			}
			if len(data) > len(in) {
				t.Fatalf("data longer than the input")
			}
		}
		t.Fatalf("more events than bytes")
	})
}

func TestParseFrameID(t *testing.T) {
	tests := []struct {
		in      string
		want    frameID
		wantErr bool
	}{
		{"run_abc:12", frameID{"run_abc", 12, -1}, false},
		{"run_abc:12:0", frameID{"run_abc", 12, 0}, false},
		{"run_abc:1:3", frameID{"run_abc", 1, 3}, false},
		{"run_abc", frameID{}, true},
		{":12", frameID{}, true},
		{"run:0", frameID{}, true},
		{"run:x", frameID{}, true},
		{"run:1:-1", frameID{}, true},
		{"run:1:a", frameID{}, true},
		{"run:1:2:3", frameID{}, true},
	}
	for _, tt := range tests {
		got, err := parseFrameID(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseFrameID(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseFrameID(f *testing.F) {
	f.Add("run_1:5")
	f.Add("run_1:5:0")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseFrameID(s)
		if err != nil {
			return
		}
		back := fmt.Sprintf("%s:%d", id.run, id.seq)
		if id.part >= 0 {
			back += fmt.Sprintf(":%d", id.part)
		}
		again, err := parseFrameID(back)
		if err != nil || again != id {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, id, back, again, err)
		}
	})
}

func TestParseServing(t *testing.T) {
	tests := []struct {
		line    string
		want    string
		ok, err bool
	}{
		{"fleet: serving http://127.0.0.1:41234", "http://127.0.0.1:41234", true, false},
		{"fleet: serving http://127.0.0.1:41234\n", "http://127.0.0.1:41234", true, false},
		{"fleet: serving http://[::1]:8080", "http://[::1]:8080", true, false},
		{"fleet: 8 plugins, 7 workflows, data in /tmp/x", "", false, false},
		{"fleet: serving http://10.0.0.1:8080", "", true, true},
		{"fleet: serving https://127.0.0.1:8080", "", true, true},
		{"fleet: serving http://127.0.0.1", "", true, true},
		{"fleet: serving http://127.0.0.1:80/x", "", true, true},
	}
	for _, tt := range tests {
		got, ok, err := parseServing(tt.line)
		if got != tt.want || ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("parseServing(%q) = %q, %v, %v", tt.line, got, ok, err)
		}
	}
}

func TestParseProc(t *testing.T) {
	status := "Name:\tfleet\nVmPeak:\t  900 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n"
	if rss, err := parseVmRSS(status); err != nil || rss != 123456*1024 {
		t.Errorf("parseVmRSS = %d, %v", rss, err)
	}
	for _, bad := range []string{"Name: x\n", "VmRSS: 12 MB\n", "VmRSS: x kB\n"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("parseVmRSS(%q): no error", bad)
		}
	}
	stat := "4242 (fleet serve) S 1 4242 1 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 1000 200"
	if cpu, err := parseStatCPU(stat); err != nil || cpu != 3.25 {
		t.Errorf("parseStatCPU = %v, %v; want 3.25", cpu, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("short stat: no error")
	}
	procStat := "cpu  100 5 50 1000 20 1 2 3 7 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n"
	if busy, err := parseMachineCPU(procStat); err != nil || busy != 1.61 {
		t.Errorf("parseMachineCPU = %v, %v; want 1.61", busy, err)
	}
}

func TestPromValues(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP fleet_open_streams Open streams.
# TYPE fleet_open_streams gauge
fleet_open_streams{transport="sse"} 3
fleet_open_streams{transport="websocket"} 4
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.5
`
	got, err := promValues(strings.NewReader(text), []string{"go_goroutines", "fleet_open_streams", "process_cpu_seconds_total", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_goroutines": 42, "fleet_open_streams": 7, "process_cpu_seconds_total": 1.5}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := promValues(strings.NewReader("go_goroutines{ 1\n"), []string{"go_goroutines"}); err == nil {
		t.Error("malformed metrics: no error")
	}
}

func TestLongMessageAnswer(t *testing.T) {
	msg := longMessage(100)
	ans, ok := expectedAnswer(msg)
	if !ok {
		t.Fatalf("%q is not a Say exactly request", msg)
	}
	words := strings.Fields(ans)
	if len(words) != 100 || strings.Join(words, " ") != ans {
		t.Fatalf("answer has %d words: %q", len(words), ans)
	}
	for _, w := range words {
		if len(w) > 8 {
			t.Errorf("word %q is longer than 8 bytes: the offline model would cut it", w)
		}
	}
	tests := []struct {
		msg, want string
		ok        bool
	}{
		{"say EXACTLY:  two spaces", " two spaces", true},
		{"Say exactly:x", "x", true},
		{"Say exactly", "", false},
		{"Please say exactly: x", "", false},
	}
	for _, tt := range tests {
		if got, ok := expectedAnswer(tt.msg); got != tt.want || ok != tt.ok {
			t.Errorf("expectedAnswer(%q) = %q, %v", tt.msg, got, ok)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "::1", "localhost"} {
		if checkLoopback(h) != nil {
			t.Errorf("%s refused", h)
		}
	}
	for _, h := range []string{"0.0.0.0", "example.com", "10.1.2.3", ""} {
		if !errors.Is(checkLoopback(h), errNotLoopback) {
			t.Errorf("%q accepted", h)
		}
	}
}
