package mapping_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/engine/event"
	"github.com/agentfleet/fleet/host/mapping"
	"github.com/agentfleet/fleet/host/plugin"
)

func TestPositionText(t *testing.T) {
	for _, tc := range []struct {
		text string
		pos  mapping.Position
	}{
		{"0", mapping.Position{}},
		{"12", mapping.Position{Seq: 12}},
		{"12:0", mapping.Position{Seq: 11, Part: 1}},
		{"12:3", mapping.Position{Seq: 11, Part: 4}},
		{"1:0", mapping.Position{Seq: 0, Part: 1}},
	} {
		got, err := mapping.ParsePosition(tc.text)
		if err != nil || got != tc.pos {
			t.Errorf("ParsePosition(%q) = %+v, %v; want %+v", tc.text, got, err, tc.pos)
		}
		if s := tc.pos.String(); s != tc.text {
			t.Errorf("%+v.String() = %q, want %q", tc.pos, s, tc.text)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1:", "1:x", "1:-1", "0:0", "1:2:3", " 1"} {
		if _, err := mapping.ParsePosition(bad); !errors.Is(err, mapping.ErrBadPosition) {
			t.Errorf("ParsePosition(%q) = %v, want ErrBadPosition", bad, err)
		}
	}
}

func TestParseID(t *testing.T) {
	// Run ids may contain colons: the run id is known, so the prefix is cut exactly.
	pos, err := mapping.ParseID("run:a:b", "run:a:b:7:1")
	if err != nil || pos != (mapping.Position{Seq: 6, Part: 2}) {
		t.Fatalf("got %+v, %v", pos, err)
	}
	if _, err := mapping.ParseID("run_1", "run_2:7"); !errors.Is(err, mapping.ErrBadPosition) {
		t.Fatalf("other run's id: %v", err)
	}
}

func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"0", "12", "12:0", "18446744073709551615", "1:2147483647", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := mapping.ParsePosition(s)
		if err != nil {
			return
		}
		back, err := mapping.ParsePosition(p.String())
		if err != nil || back != p {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, p, p.String(), back, err)
		}
	})
}

// frames builds frames from "seq" items ("3" is a frame of event 3; "0" tied to none).
func frames(seqs ...uint64) []mapping.Frame {
	out := make([]mapping.Frame, len(seqs))
	for i, s := range seqs {
		out[i] = mapping.Frame{Seq: s, Data: []byte(fmt.Sprintf(`"f%d"`, i))}
	}
	return out
}

func ids(ls []mapping.Labeled) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		if l.Resumable {
			out[i] = l.Pos.ID("r")
		} else {
			out[i] = "-"
		}
	}
	return out
}

func TestCursorLabels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		from  mapping.Position
		batch []uint64
		want  string
	}{
		{"one frame per event", mapping.Position{}, []uint64{1, 2, 3}, "r:1 r:2 r:3"},
		{"several frames of an event", mapping.Position{}, []uint64{1, 2, 2, 2, 3}, "r:1 r:2:0 r:2:1 r:2 r:3"},
		{"frames tied to no event", mapping.Position{}, []uint64{0, 1, 0}, "- r:1 -"},
		{"resume after an event", mapping.Position{Seq: 2}, []uint64{1, 2, 2, 3, 3}, "r:3:0 r:3"},
		{"resume inside an event", mapping.Position{Seq: 1, Part: 2}, []uint64{1, 2, 2, 2, 3}, "r:2 r:3"},
		{"resume after the first part", mapping.Position{Seq: 1, Part: 1}, []uint64{1, 2, 2, 2, 3}, "r:2:1 r:2 r:3"},
		{"resume past the end", mapping.Position{Seq: 9}, []uint64{1, 2, 0}, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(ids(mapping.NewCursor(tc.from).Filter(frames(tc.batch...))), " ")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCursorResumeIsExact cuts a stream of frames at every point, resumes from the id seen last,
// and checks the two parts are the whole stream exactly once.
func TestCursorResumeIsExact(t *testing.T) {
	batches := [][]uint64{{1, 2, 2}, {3}, {4, 4, 4, 5}, {6, 7, 7}}
	var whole []mapping.Labeled
	c := mapping.NewCursor(mapping.Position{})
	for _, b := range batches {
		whole = append(whole, c.Filter(frames(b...))...)
	}
	for cut := 1; cut < len(whole); cut++ {
		from, err := mapping.ParseID("r", whole[cut-1].Pos.ID("r"))
		if err != nil {
			t.Fatal(err)
		}
		rc := mapping.NewCursor(from)
		var rest []mapping.Labeled
		for _, b := range batches {
			rest = append(rest, rc.Filter(frames(b...))...)
		}
		if got, want := strings.Join(ids(rest), " "), strings.Join(ids(whole[cut:]), " "); got != want {
			t.Fatalf("cut after %d (%s): resumed %q, want %q", cut, whole[cut-1].Pos.ID("r"), got, want)
		}
	}
}

func TestFleetMapper(t *testing.T) {
	m := mapping.Fleet{}
	if f := m.Format(); f.Name != "fleet" || f.ContentType != "text/event-stream" || f.Framing != mapping.FramingSSE {
		t.Fatalf("format %+v", f)
	}
	if !mapping.IsStateless(m) {
		t.Fatal("fleet mapper keeps no state")
	}
	ev := event.Event{V: 1, Type: event.MessageDelta, Seq: 4, RunID: "r", ThreadID: "t",
		Data: event.MessageDeltaData{MessageID: "m", Delta: "Hel"}}
	fs, err := m.NewStream("s").Map(context.Background(), []event.Event{ev})
	if err != nil || len(fs) != 1 || fs[0].Seq != 4 {
		t.Fatalf("frames %+v, %v", fs, err)
	}
	var back event.Event
	if err := json.Unmarshal(fs[0].Data, &back); err != nil || back.Data.(event.MessageDeltaData).Delta != "Hel" {
		t.Fatalf("frame %s: %v", fs[0].Data, err)
	}
}

func TestErrorFrame(t *testing.T) {
	for format, want := range map[string]string{
		"agui":   `{"type":"RUN_ERROR","message":"boom","code":"mapper_error"}`,
		"vercel": `{"type":"error","errorText":"boom"}`,
		"legacy": `{"type":"error","error":"boom","message":"boom","code":"mapper_error","category":"error"}`,
		"fleet":  `{"type":"error","code":"mapper_error","message":"boom"}`,
		"other":  `{"type":"error","code":"mapper_error","message":"boom"}`,
	} {
		if got := string(mapping.ErrorFrame(format, mapping.CodeMapper, "boom")); got != want {
			t.Errorf("%s: %s, want %s", format, got, want)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := mapping.NewRegistry(plugin.NewRegistry())
	if m, err := r.Lookup("fleet"); err != nil || m.Format().Name != "fleet" {
		t.Fatalf("fleet: %v", err)
	}
	_, err := r.Lookup("")
	if !errors.Is(err, mapping.ErrUnknownFormat) || !strings.Contains(err.Error(), `"agui" (available: fleet)`) {
		t.Fatalf("default without the agui plugin: %v", err)
	}
	if err := r.Register(twice{}); err != nil {
		t.Fatal(err)
	}
	r.SetDefault("twice")
	if m, err := r.Lookup(""); err != nil || m.Format().Name != "twice" {
		t.Fatalf("default: %v", err)
	}
	if got := r.Formats(); strings.Join(got, ",") != "fleet,twice" {
		t.Fatalf("formats %v", got)
	}
	if err := r.Register(badName{}); err == nil {
		t.Fatal("a bad format name was accepted")
	}
}

// twice is a native mapper that emits two frames per event and one at the end.
type twice struct{}

func (twice) Format() mapping.Format { return mapping.Format{Name: "twice"} }
func (twice) NewStream(string) mapping.Stream {
	return &twiceStream{}
}

type twiceStream struct{ n int }

func (s *twiceStream) Map(_ context.Context, evs []event.Event) ([]mapping.Frame, error) {
	var out []mapping.Frame
	for _, e := range evs {
		s.n++
		out = append(out, mapping.Frame{Seq: e.Seq, Data: []byte(`{"half":1}`)}, mapping.Frame{Seq: e.Seq, Data: []byte(`{"half":2}`)})
	}
	return out, nil
}

func (s *twiceStream) End(context.Context) ([]mapping.Frame, error) {
	return []mapping.Frame{{Data: []byte(fmt.Sprintf(`{"seen":%d}`, s.n))}}, nil
}

type badName struct{ twice }

func (badName) Format() mapping.Format { return mapping.Format{Name: "Bad Name"} }

func TestFormatDefaults(t *testing.T) {
	f := mapping.Format{Name: "x", Framing: "weird"}.WithDefaults()
	if f.ContentType != "text/event-stream" || f.Framing != mapping.FramingSSE {
		t.Fatalf("%+v", f)
	}
	f = mapping.Format{Name: "x", Framing: mapping.FramingNDJSON, ContentType: "application/x-ndjson"}.WithDefaults()
	if f.Framing != mapping.FramingNDJSON || f.ContentType != "application/x-ndjson" {
		t.Fatalf("%+v", f)
	}
}
func TestPositionBefore(t *testing.T) {
	for _, tc := range []struct {
		p, q mapping.Position
		want bool
	}{
		{mapping.Position{Seq: 4}, mapping.Position{Seq: 5}, true},
		{mapping.Position{Seq: 5}, mapping.Position{Seq: 5}, false},
		{mapping.Position{Seq: 5}, mapping.Position{Seq: 5, Part: 1}, true}, // after 5, then inside 6
		{mapping.Position{Seq: 5, Part: 2}, mapping.Position{Seq: 6}, true},
		{mapping.Position{Seq: 6}, mapping.Position{Seq: 5, Part: 9}, false},
	} {
		if got := tc.p.Before(tc.q); got != tc.want {
			t.Errorf("%v.Before(%v) = %v, want %v", tc.p, tc.q, got, tc.want)
		}
	}
}
