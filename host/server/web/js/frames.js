// The AG-UI frame -> UI dispatch table. Each handler gets the run's view, the frame and the app's
// hooks ({changed(run)}: the run's status moved). Handlers are idempotent where a reconnect can
// repeat a frame's effect (RUN_STARTED, *_START for a known id), and tolerate a stream that resumes
// mid-span (a delta for an id never started creates it).

import { TERMINAL } from './runview.js';

/** approvalOf normalises an approval from an AG-UI interrupt or a fleet CUSTOM value. */
export function approvalOf(src) {
  if (!src || typeof src !== 'object') return null;
  const payload = src.payload || src.value || src;
  const a = payload.approval || payload;
  const id = src.id || src.interruptId || a.id || a.approval_id || a.approvalId;
  if (!id) return null;
  return {
    id: String(id),
    call_id: a.call_id || a.toolCallId || a.tool_call_id || '',
    tool: a.tool || a.toolName || a.tool_name || a.toolCallName || '',
    arguments: a.arguments ?? a.args,
    agent: a.agent || '',
  };
}

function interrupts(frame) {
  const list = [];
  if (Array.isArray(frame.interrupts)) list.push(...frame.interrupts);
  if (frame.interrupt) list.push(frame.interrupt);
  return list;
}

function isInterrupt(frame) {
  const o = frame.outcome;
  return o === 'interrupt' || (o && typeof o === 'object' && o.type === 'interrupt') || interrupts(frame).length > 0;
}

function finish(run, hooks, status, detail) {
  if (TERMINAL.has(run.status)) return;
  run.closeOpen();
  run.setStatus(status, detail);
  hooks.changed(run);
}

function usageOf(value) {
  if (!value || typeof value !== 'object') return null;
  return value.usage || value.run_total || value.runTotal || null;
}

/** CUSTOM frames by name: Fleet's own events that AG-UI has no frame for. */
const custom = {
  'fleet.approval': (run, v) => { const a = approvalOf(v); if (a) run.approval(a); },
  'fleet.approval.requested': (run, v) => { const a = approvalOf(v); if (a) run.approval(a); },
  'fleet.approval.resolved': (run, v) =>
    run.approvalResolved(String(v.approval_id || v.approvalId || v.id), v.decision, v.reason),
  'fleet.route': (run, v) => run.route(v),
  'fleet.usage': (run, v) => run.setUsage(usageOf(v)),
  'fleet.run.resumed': (run, v, hooks) => { run.setStatus('running'); hooks.changed(run); },
  'fleet.run.cancelled': (run, v, hooks) => { run.setUsage(usageOf(v)); finish(run, hooks, 'cancelled', v.reason); },
  'fleet.cancelled': (run, v, hooks) => { run.setUsage(usageOf(v)); finish(run, hooks, 'cancelled', v.reason); },
};

// Fleet event types under a "fleet." prefix (fleet.approval.resolved) and bare (approval.resolved)
// are both accepted.
for (const name of Object.keys(custom)) custom[name.slice('fleet.'.length)] = custom[name];

function errorOf(content) {
  let v = content;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return /^error\b/i.test(v.trim());
    }
  }
  return !!(v && typeof v === 'object' && !Array.isArray(v) && v.error);
}

/** handlers maps an AG-UI frame type to what it does to the run's view. */
export const handlers = {
  RUN_STARTED(run, f, hooks) {
    if (TERMINAL.has(run.status) || run.status === 'running') return;
    run.setStatus('running');
    hooks.changed(run);
  },
  RUN_FINISHED(run, f, hooks) {
    run.setUsage(usageOf(f.result));
    if (isInterrupt(f)) {
      for (const i of interrupts(f)) {
        const a = approvalOf(i);
        if (a) run.approval(a);
      }
      run.setStatus('waiting');
      hooks.changed(run);
      return;
    }
    finish(run, hooks, 'done');
  },
  RUN_ERROR(run, f, hooks) {
    const cancelled = f.code === 'cancelled' || f.code === 'canceled';
    finish(run, hooks, cancelled ? 'cancelled' : 'failed', cancelled ? '' : f.message || f.code || 'error');
  },
  STEP_STARTED: (run, f) => run.step(f.stepName, false),
  STEP_FINISHED: (run, f) => run.step(f.stepName, true, f.status),
  TEXT_MESSAGE_START: (run, f) => run.message(f.messageId, f.name, f.role || 'assistant'),
  TEXT_MESSAGE_CONTENT: (run, f) => { if (f.delta) run.messageDelta(f.messageId, f.delta); },
  TEXT_MESSAGE_END: (run, f) => run.messageEnd(f.messageId),
  TEXT_MESSAGE_CHUNK(run, f) {
    run.message(f.messageId, f.name, f.role || 'assistant');
    if (f.delta) run.messageDelta(f.messageId, f.delta);
  },
  TOOL_CALL_START: (run, f) => run.tool(f.toolCallId, f.toolCallName),
  TOOL_CALL_ARGS: (run, f) => { if (f.delta) run.toolArgs(f.toolCallId, f.delta); },
  TOOL_CALL_END: (run, f) => run.toolEnd(f.toolCallId),
  TOOL_CALL_CHUNK(run, f) {
    run.tool(f.toolCallId, f.toolCallName);
    if (f.delta) run.toolArgs(f.toolCallId, f.delta);
  },
  TOOL_CALL_RESULT: (run, f) => run.toolResult(f.toolCallId, f.content, errorOf(f.content)),
  REASONING_START: (run, f) => run.reasoningBlock(f.messageId),
  REASONING_MESSAGE_START: (run, f) => run.reasoningBlock(f.messageId),
  REASONING_MESSAGE_CONTENT: (run, f) => { if (f.delta) run.reasoningBlock(f.messageId).text.appendData(f.delta); },
  REASONING_MESSAGE_CHUNK: (run, f) => { if (f.delta) run.reasoningBlock(f.messageId).text.appendData(f.delta); },
  REASONING_MESSAGE_END: () => {},
  REASONING_END: () => {},
  CUSTOM(run, f, hooks) {
    const h = custom[f.name];
    if (h) h(run, f.value && typeof f.value === 'object' ? f.value : {}, hooks);
  },
};

// Older AG-UI names of the reasoning frames.
handlers.THINKING_START = handlers.REASONING_START;
handlers.THINKING_TEXT_MESSAGE_START = handlers.REASONING_MESSAGE_START;
handlers.THINKING_TEXT_MESSAGE_CONTENT = handlers.REASONING_MESSAGE_CONTENT;
handlers.THINKING_TEXT_MESSAGE_END = handlers.REASONING_MESSAGE_END;
handlers.THINKING_END = handlers.REASONING_END;

/** dispatch applies one frame to a run's view; unknown frame types are skipped. */
export function dispatch(run, frame, hooks) {
  const h = frame && handlers[frame.type];
  if (h) h(run, frame, hooks);
}
