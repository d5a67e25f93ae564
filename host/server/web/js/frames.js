// The AG-UI frame -> UI dispatch table. Each handler gets the run's view, the frame and the app's
// hooks ({changed(run)}: the run's status moved). Handlers are idempotent where a reconnect can
// repeat a frame's effect (RUN_STARTED, *_START for a known id), and tolerate a stream that resumes
// mid-span (a delta for an id never started creates it).

import { TERMINAL } from './runview.js';

/**
 * approvalOf reads an approval ({id, call_id, tool, arguments, agent}) from the value of a
 * fleet.approval_requested CUSTOM frame, or from an AG-UI interrupt of a RUN_FINISHED whose
 * outcome is an interrupt ({id, reason: tool_call, toolCallId, metadata: {approval}}).
 */
export function approvalOf(src) {
  if (!src || typeof src !== 'object') return null;
  const a = (src.metadata && src.metadata.approval) || src;
  const id = src.id || a.id;
  if (!id) return null;
  return {
    id: String(id),
    call_id: a.call_id || src.toolCallId || '',
    tool: a.tool || '',
    arguments: a.arguments,
    agent: a.agent || '',
  };
}

function interrupts(frame) {
  const o = frame.outcome;
  return o && typeof o === 'object' && o.type === 'interrupt' && Array.isArray(o.interrupts) ? o.interrupts : null;
}

function finish(run, hooks, status, detail) {
  if (TERMINAL.has(run.status)) return;
  run.closeOpen();
  run.setStatus(status, detail);
  hooks.changed(run);
}

/** CUSTOM frames by name: Fleet's events that AG-UI has no frame of its own for. */
const custom = {
  'fleet.approval_requested': (run, v) => {
    const a = approvalOf(v);
    if (a) run.approval(a);
  },
  'fleet.approval_resolved': (run, v) => run.approvalResolved(String(v.approval_id), v.decision, v.reason),
  'fleet.route': (run, v) => run.route(v),
  'fleet.usage': (run, v) => run.setUsage(v.run_total),
};

/** failed reports whether a TOOL_CALL_RESULT's content is the mapper's {"error":{code,message}}. */
function failed(content) {
  try {
    const v = JSON.parse(content);
    return !!(v && typeof v === 'object' && !Array.isArray(v) && v.error);
  } catch {
    return false;
  }
}

/** handlers maps an AG-UI frame type to what it does to the run's view. */
export const handlers = {
  RUN_STARTED(run, f, hooks) {
    if (TERMINAL.has(run.status) || run.status === 'running') return;
    run.setStatus('running');
    hooks.changed(run);
  },
  RUN_FINISHED(run, f, hooks) {
    if (f.result && typeof f.result === 'object') run.setUsage(f.result.usage);
    const list = interrupts(f);
    if (list) {
      for (const i of list) {
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
    const cancelled = f.code === 'cancelled';
    finish(run, hooks, cancelled ? 'cancelled' : 'failed', cancelled ? '' : f.message || f.code || 'error');
  },
  STEP_STARTED: (run, f) => run.step(f.stepName, false),
  STEP_FINISHED: (run, f) => run.step(f.stepName, true),
  TEXT_MESSAGE_START: (run, f) => run.message(f.messageId, f.name, f.role || 'assistant'),
  TEXT_MESSAGE_CONTENT: (run, f) => { if (f.delta) run.messageDelta(f.messageId, f.delta); },
  TEXT_MESSAGE_END: (run, f) => run.messageEnd(f.messageId),
  TOOL_CALL_START: (run, f) => run.tool(f.toolCallId, f.toolCallName),
  TOOL_CALL_ARGS: (run, f) => { if (f.delta) run.toolArgs(f.toolCallId, f.delta); },
  TOOL_CALL_END: (run, f) => run.toolEnd(f.toolCallId),
  TOOL_CALL_RESULT: (run, f) => run.toolResult(f.toolCallId, f.content, failed(f.content)),
  REASONING_START: (run, f) => run.reasoningBlock(f.messageId),
  REASONING_MESSAGE_START: (run, f) => run.reasoningBlock(f.messageId),
  REASONING_MESSAGE_CONTENT: (run, f) => { if (f.delta) run.reasoningBlock(f.messageId).text.appendData(f.delta); },
  REASONING_MESSAGE_END: () => {},
  REASONING_END: () => {},
  STATE_SNAPSHOT: () => {}, // no workflow exposes state to the page yet
  CUSTOM(run, f, hooks) {
    const h = custom[f.name];
    if (h) h(run, f.value && typeof f.value === 'object' ? f.value : {}, hooks);
  },
};

/** dispatch applies one frame to a run's view; unknown frame types are skipped. */
export function dispatch(run, frame, hooks) {
  const h = frame && handlers[frame.type];
  if (h) h(run, frame, hooks);
}
