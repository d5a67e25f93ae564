// Runs the real @ag-ui/client HttpAgent against a Fleet server and prints what it saw as JSON.
// Usage: node client.mjs <base URL> <page URL for the approval workflow>
// Called by host/server/agui_test.go; `npm ci` in this directory installs the client.
import { HttpAgent, buildResumeArray } from "@ag-ui/client";

const [base, page] = process.argv.slice(2);

// run makes one runAgent call and records its events, outcome and error.
async function run(agent, params) {
  const rec = { events: [], error: null, outcome: null, interrupts: [] };
  try {
    await agent.runAgent(params, {
      onEvent: ({ event }) => { rec.events.push(event); },
      onRunFinishedEvent: (p) => { rec.outcome = p.outcome; rec.interrupts = p.interrupts || []; },
    });
  } catch (e) {
    rec.error = String(e && e.message ? e.message : e);
  }
  return rec;
}

const report = {};

// Two turns on one thread: the second request carries the whole history (assistant tool calls,
// tool results) back to the server.
const assistant = new HttpAgent({ url: `${base}/v1/workflows/assistant/runs`, threadId: "thr_agui_client" });
assistant.addMessage({ id: "u1", role: "user", content: "What is 17*23?" });
report.first = await run(assistant, { runId: "run_agui_1" });
assistant.addMessage({ id: "u2", role: "user", content: "Say exactly: second turn" });
report.second = await run(assistant, { runId: "run_agui_2" });
report.messages = assistant.messages;

// Human in the loop: the run is interrupted for an approval and resumed with resume[].
const approval = new HttpAgent({ url: `${base}/v1/workflows/approval/runs`, threadId: "thr_agui_apr" });
approval.addMessage({ id: "u1", role: "user", content: `Fetch ${page}` });
report.interrupted = await run(approval, { runId: "run_agui_apr" });
const responses = {};
for (const i of report.interrupted.interrupts) responses[i.id] = { status: "resolved", payload: { approve: true } };
report.resumed = await run(approval, { resume: buildResumeArray(report.interrupted.interrupts, responses) });

process.stdout.write(JSON.stringify(report));
