// Package offline is Fleet's built-in offline model: an OpenAI-compatible chat completion server
// that answers by fixed, documented rules. It needs no key and no network, it is deterministic
// (the same request always gets the same reply and ids), and it streams like OpenAI — word
// pieces, reasoning_content, tool calls split over several deltas, a final usage chunk, then
// "data: [DONE]" — so the engine reaches it through the same adapter (host/llm) and go-openai
// client as a real provider, over real HTTP on 127.0.0.1. Tests inject failures with
// [Server.InjectFault] and count completed calls with [Server.Requests].
//
// The full rules are in README.md next to this file (linked from the docs). In short, tried in
// order:
//
//  1. After tool results (following the last assistant tool call): answer from them, e.g.
//     {"expression":"17*23","result":391} -> "17*23 = 391."; an {"error": ...} result ->
//     "The calculate tool failed: MESSAGE."
//  2. Router (route_to_<name> tools): route to the first choice that has not spoken (no
//     assistant message with its name, no earlier route to it), preferring the one named earliest
//     in the request, then in the instructions, else tool order; when all spoke, call finish.
//  3. Handoff (transfer_to_<name> tools): once per user turn, transfer to the target whose
//     description and name share the most significant words with the request.
//  4. Reviewer (instructions containing APPROVED and REVISE): "REVISE: ..." on the first review,
//     "APPROVED: ..." once a message with "REVISE:" or "APPROVED:" exists.
//  5. "Say exactly: TEXT" answers TEXT verbatim.
//  6. Tool use, matched by tool name suffix: word_count ("count the words ..."), http_fetch per
//     URL, calculate per arithmetic expression, now for time and date questions (with a
//     {"timezone"} for a named IANA zone or city) — several calls at once are parallel calls.
//  7. Otherwise: "As <role>: here is my response to "<request>"." where the role comes from a
//     first sentence "You are <role>." of the instructions.
//
// tool_choice (none, required, a named function), parallel_tool_calls, reasoning_effort (a
// reasoning text first) and max_tokens / max_completion_tokens (cut, finish "length") are honoured.
// Usage: completion tokens are the pieces sent; prompt tokens a quarter of the characters.
//
// Usage:
//
//	srv := offline.New(offline.Options{TokenDelay: 20 * time.Millisecond})
//	run, err := srv.Start(ctx, "") // 127.0.0.1:0
//	defer run.Close()
//	// point any OpenAI client at run.BaseURL ("http://127.0.0.1:PORT/v1")
package offline
