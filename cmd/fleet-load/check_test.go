package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// aguiFrame is one frame of an AG-UI stream with its position.
type aguiFrame struct {
	seq  uint64
	part int
	data string
}

func aguiStream(words ...string) []aguiFrame {
	fs := []aguiFrame{{1, -1, `{"type":"RUN_STARTED","threadId":"t","runId":"r"}`},
		{2, -1, `{"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}`}}
	seq := uint64(3)
	for _, w := range words {
		fs = append(fs, aguiFrame{seq, -1, fmt.Sprintf(`{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":%q}`, w)})
		seq++
	}
	return append(fs, aguiFrame{seq, 0, `{"type":"TEXT_MESSAGE_END","messageId":"m"}`},
		aguiFrame{seq, -1, `{"type":"RUN_FINISHED","threadId":"t","runId":"r"}`})
}

func TestRunCheckOutcomes(t *testing.T) {
	ok := aguiStream("one", " two", " three")
	tests := []struct {
		name    string
		expect  string
		frames  []aguiFrame
		outcome string
		why     string
	}{
		{"complete", "one two three", ok, outcomeOK, ""},
		{"no expectation", "", ok, outcomeOK, ""},
		{"no terminal frame", "one two three", ok[:len(ok)-1], outcomeTruncated, "no terminal frame"},
		{"gap in seq", "one two three", append(append([]aguiFrame{}, ok[:3]...), ok[4:]...), outcomeTruncated, "gap: seq 5 after 3"},
		{"seq goes back", "", []aguiFrame{ok[0], ok[1], ok[2], ok[1]}, outcomeTruncated, "seq 2 after 3"},
		{"first seq not 1", "", ok[1:], outcomeTruncated, "first frame has seq 2"},
		{"part after the last part", "", []aguiFrame{ok[0], {1, 0, ok[1].data}}, outcomeTruncated, "seq 1 part 0 after part -1"},
		{"next seq before last part", "", []aguiFrame{{1, 0, ok[0].data}, {2, -1, ok[1].data}}, outcomeTruncated, "before the last part"},
		{"wrong text", "one two four", ok, outcomeTruncated, "text differs at byte 7"},
		{"short text", "one two three four", ok, outcomeTruncated, "text ends at byte 13 of 18"},
		{"frame after the end", "", append(append([]aguiFrame{}, ok...), aguiFrame{0, -1, `{"type":"CUSTOM"}`}), outcomeTruncated, "CUSTOM after the end"},
		{"run error", "", []aguiFrame{ok[0], {2, -1, `{"type":"RUN_ERROR","message":"boom","code":"model_error"}`}}, outcomeFailed, "RUN_ERROR model_error"},
		{"not JSON", "", []aguiFrame{ok[0], {2, -1, `{"type":`}}, outcomeTruncated, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := runCheck{spec: formats["agui"], expect: tt.expect, hasExp: tt.expect != ""}
			c.reset(time.Now())
			for _, f := range tt.frames {
				_ = c.frame(time.Now(), f.seq, f.part, []byte(f.data))
			}
			outcome, why := c.outcome()
			if outcome != tt.outcome || !strings.Contains(why, tt.why) {
				t.Errorf("outcome %s (%s), want %s (%s)", outcome, why, tt.outcome, tt.why)
			}
		})
	}
}

func TestRunCheckTimings(t *testing.T) {
	const delay = 50 * time.Millisecond
	c := runCheck{spec: formats["fleet"], delay: delay}
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c.reset(t0)
	// The model emits token i at 100ms + i*delay + i ms (it drifts 1 ms a token); each arrives
	// 2 ms after it was emitted, except token 2, 30 ms.
	emit := func(i int) time.Time {
		return t0.Add(100*time.Millisecond + time.Duration(i)*delay + time.Duration(i)*time.Millisecond)
	}
	arrive := func(i int) time.Time {
		if i == 2 {
			return emit(i).Add(30 * time.Millisecond)
		}
		return emit(i).Add(2 * time.Millisecond)
	}
	frame := func(seq uint64, typ, extra string, at time.Time) {
		data := fmt.Sprintf(`{"v":1,"type":%q,"seq":%d,"time":%q,"data":{%s}}`, typ, seq, at.Format(time.RFC3339Nano), extra)
		if err := c.frame(at.Add(2*time.Millisecond), seq, -1, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	frame(1, "run.started", "", t0)
	for i := range 4 {
		data := fmt.Sprintf(`{"v":1,"type":"message.delta","seq":%d,"time":%q,"data":{"delta":"w%d"}}`, i+2,
			emit(i).Format(time.RFC3339Nano), i)
		if err := c.frame(arrive(i), uint64(i+2), -1, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	frame(6, "run.finished", "", emit(4))
	if o, why := c.outcome(); o != outcomeOK {
		t.Fatalf("outcome %s: %s", o, why)
	}
	if c.tokens != 4 || c.ttft != 102*time.Millisecond {
		t.Errorf("tokens %d ttft %v, want 4 and 102ms", c.tokens, c.ttft)
	}
	ms := func(vs []int64) []float64 {
		out := make([]float64, len(vs))
		for i, v := range vs {
			out[i] = float64(v) / 1e6
		}
		return out
	}
	// Lateness against the first token's arrival: i ms of drift, plus 28 ms for token 2.
	checks := []struct {
		name string
		got  []int64
		want []float64
	}{
		{"lateness", c.late, []float64{1, 30, 3}},
		{"inter-arrival", c.inter, []float64{51, 79, 23}},
		{"delivery", c.deliver, []float64{2, 2, 30, 2}},
		{"source drift", c.source, []float64{1, 2, 3}},
	}
	for _, ch := range checks {
		if fmt.Sprint(ms(ch.got)) != fmt.Sprint(ch.want) {
			t.Errorf("%s = %v ms, want %v", ch.name, ms(ch.got), ch.want)
		}
	}
}

func TestRunCheckVercelDone(t *testing.T) {
	c := runCheck{spec: formats["vercel"], expect: "hi", hasExp: true}
	c.reset(time.Now())
	for _, d := range []string{`{"type":"start"}`, `{"type":"text-delta","id":"m","delta":"hi"}`, `{"type":"finish"}`} {
		_ = c.frame(time.Now(), 0, -1, []byte(d))
		if c.done {
			t.Fatalf("done before [DONE] (after %s)", d)
		}
	}
	_ = c.frame(time.Now(), 0, -1, []byte("[DONE]"))
	if o, why := c.outcome(); !c.done || o != outcomeOK {
		t.Fatalf("done %v outcome %s %s", c.done, o, why)
	}
}
