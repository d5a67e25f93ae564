package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentfleet/fleet/sdk"
)

// A complete mapper plugin: it turns message events into a tiny line protocol and counts the
// messages of each stream in its state. In a real plugin this is the main package and init calls
// sdk.RegisterMapper with the same Mapper value; this example uses NewMapper because the package's
// tests register a tool plugin already.

// textState is the per-stream state: the host keeps it between batches.
type textState struct {
	Open     []string `json:"open,omitempty"`
	Messages int      `json:"messages"`
}

var textMapper = sdk.Mapper[textState]{
	Name:    "text-lines",
	Version: "1.0.0",
	Format:  sdk.Format{Name: "lines", ContentType: "application/x-ndjson", Framing: sdk.FramingNDJSON},
	Handlers: map[string]sdk.Handler[textState]{
		sdk.EventMessageStart: func(out *sdk.Frames, s *textState, e *sdk.Event) error {
			d := e.MessageStart()
			s.Open = append(s.Open, d.MessageID)
			s.Messages++
			out.Frame().String("type", "open").String("id", d.MessageID).OptString("by", d.Name).End()
			return nil
		},
		sdk.EventMessageDelta: func(out *sdk.Frames, s *textState, e *sdk.Event) error {
			d := e.MessageDelta()
			out.Frame().String("type", "text").String("id", d.MessageID).String("text", d.Delta).End()
			return nil
		},
		sdk.EventMessageEnd: func(out *sdk.Frames, s *textState, e *sdk.Event) error {
			d := e.MessageEnd()
			s.Open = remove(s.Open, d.MessageID)
			out.Frame().String("type", "close").String("id", d.MessageID).End()
			return nil
		},
	},
	// End closes what the stream left open and reports the count.
	End: func(out *sdk.Frames, s *textState) error {
		for _, id := range s.Open {
			out.Frame().String("type", "close").String("id", id).Bool("cut", true).End()
		}
		s.Open = nil
		out.Frame().String("type", "done").Int("messages", int64(s.Messages)).End()
		return nil
	},
}

func remove(ids []string, id string) []string {
	for i, x := range ids {
		if x == id {
			return append(ids[:i], ids[i+1:]...)
		}
	}
	return ids
}

func event(seq int, typ, data string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"v":1,"type":%q,"seq":%d,"run_id":"run_1","thread_id":"thr_1","time":"2026-12-04T20:00:00Z","node":"writer","agent":"writer","data":%s}`, typ, seq, data))
}

// Example_mapper runs a stream of three batches through a mapper, in-process, carrying the state
// from each batch to the next as the host does.
func Example_mapper() {
	m, err := sdk.NewMapper(textMapper)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	batches := []sdk.MapRequest{
		{Op: sdk.OpStart, Events: []json.RawMessage{
			event(1, "run.started", `{"workflow":"w","input":"hi"}`), // no handler: no frames
			event(2, "message.start", `{"message_id":"m1","role":"assistant","name":"writer"}`),
			event(3, "message.delta", `{"message_id":"m1","delta":"Hel"}`),
		}},
		{Op: sdk.OpEvents, Events: []json.RawMessage{
			event(4, "message.delta", `{"message_id":"m1","delta":"lo \"world\"\n"}`),
		}},
		{Op: sdk.OpEnd},
	}
	var state json.RawMessage
	for _, req := range batches {
		req.Stream, req.State = "s_1", state
		res, err := m.Invoke(ctx, req)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s state %s\n", req.Op, res.State)
		for _, f := range res.Frames {
			fmt.Printf("  %d %s\n", f.Event, f.Frame)
		}
		state = res.State
	}
	// Output:
	// start state {"open":["m1"],"messages":1}
	//   1 {"type":"open","id":"m1","by":"writer"}
	//   2 {"type":"text","id":"m1","text":"Hel"}
	// events state {"open":["m1"],"messages":1}
	//   0 {"type":"text","id":"m1","text":"lo \"world\"\n"}
	// end state {"messages":1}
	//   -1 {"type":"close","id":"m1","cut":true}
	//   -1 {"type":"done","messages":1}
}

// ExampleMapperPlugin_Descriptor shows the descriptor a mapper answers at fleet_init.
func ExampleMapperPlugin_Descriptor() {
	m, _ := sdk.NewMapper(textMapper)
	fmt.Println(string(m.Descriptor()))
	// Output: {"abi_minor":1,"name":"text-lines","version":"1.0.0","kind":"mapper","capabilities":[],"mapper":{"format":"lines","content_type":"application/x-ndjson","framing":"ndjson","events":["message.delta","message.end","message.start"]}}
}

// ExampleJSON shows the frame writer on its own.
func ExampleJSON() {
	var j sdk.JSON
	j.Object("").String("type", "TOOL_CALL_RESULT").StringBytes("content", []byte(`{"result":391}`)).
		Array("tags").String("", "math").Int("", 7).End().
		OptString("name", "").Raw("usage", []byte(`{"total_tokens":3}`)).End()
	fmt.Println(string(j.Bytes()))
	// Output: {"type":"TOOL_CALL_RESULT","content":"{\"result\":391}","tags":["math",7],"usage":{"total_tokens":3}}
}
