// RunView is the transcript block of one run: the agents' messages, tool calls with their
// arguments and results, approvals, a compact trail of steps and route decisions, and a status
// line with the usage at the end. It only builds DOM; frames.js decides what to call.

import { el, pretty } from './dom.js';

const STATUS_TEXT = {
  starting: 'Starting…',
  running: 'Running…',
  waiting: 'Waiting for your approval',
  done: 'Done',
  cancelled: 'Cancelled',
  failed: 'Failed',
};

/** CONTROL_TOOL matches the tools the engine offers for handoffs and routing decisions. */
const CONTROL_TOOL = /^(transfer_to_|route_to_).|^finish$/;

/** OPEN_TOOL lists the states of a tool call that has no result yet. */
const OPEN_TOOL = new Set(['calling', 'running', 'approval']);

/** TERMINAL lists the statuses after which a run streams nothing more. */
export const TERMINAL = new Set(['done', 'cancelled', 'failed']);

export class RunView {
  /**
   * @param {string} runId
   * @param {{onAnswer: (run: RunView, approvalId: string, approve: boolean, reason: string) => void}} hooks
   */
  constructor(runId, hooks) {
    this.runId = runId;
    this.hooks = hooks;
    this.status = 'starting';
    this.agent = '';
    this.messages = new Map();
    this.tools = new Map();
    this.approvals = new Map();
    this.reasoning = new Map();
    this.items = el('div', { class: 'run-items' });
    this.statusText = el('span', { class: 'run-state' }, STATUS_TEXT.starting);
    this.usageText = el('span', { class: 'run-usage' });
    this.statusLine = el('div', { class: 'run-status', role: 'status' }, this.statusText, this.usageText);
    this.root = el('section', { class: 'run', 'data-run-id': runId, 'aria-label': 'Reply' }, this.items, this.statusLine);
    this.setStatus('starting');
  }

  /** setStatus shows the run's state; detail (an error message, say) follows it. */
  setStatus(status, detail = '') {
    this.status = status;
    this.root.dataset.status = status;
    this.root.setAttribute('aria-busy', String(status === 'running' || status === 'starting'));
    this.statusText.textContent = (STATUS_TEXT[status] || status) + (detail ? ': ' + detail : '');
  }

  /** setUsage shows a usage record {prompt_tokens, completion_tokens, total_tokens, calls}. */
  setUsage(usage) {
    if (!usage || typeof usage !== 'object') return;
    const { total_tokens: total, prompt_tokens: prompt = 0, completion_tokens: completion = 0, calls } = usage;
    if (total === undefined) return;
    this.usageText.textContent = `${total} tokens (${prompt} in, ${completion} out)` +
      (calls !== undefined ? ` · ${calls} model call${calls === 1 ? '' : 's'}` : '');
    this.usageText.title = 'Token usage of this run';
  }

  /** trail adds a compact chip (a step or a route decision) to the run's trail row. */
  trail(kind, text, title = '') {
    let row = this.items.lastElementChild;
    if (!row || !row.classList.contains('trail')) {
      row = el('div', { class: 'trail', 'aria-label': 'Steps' });
      this.items.append(row);
    }
    const chip = el('span', { class: 'chip chip-' + kind, title: title || null }, text);
    row.append(chip);
    return chip;
  }

  /** step shows that a step (an agent's or a node's turn) started, or ticks it off when it finished. */
  step(name, finished) {
    name = name || 'step';
    if (!finished) {
      this.agent = name;
      this.trail('step', name).dataset.step = name;
      return;
    }
    const open = [...this.items.querySelectorAll('.chip-step:not(.done)')].filter((c) => c.dataset.step === name);
    if (open.length) open[open.length - 1].classList.add('done');
  }

  /** route shows a route decision: {kind, from, to[], reason}. */
  route(r) {
    const to = Array.isArray(r.to) ? r.to.join(', ') : String(r.to || '');
    const label = (r.from ? r.from + ' → ' : '→ ') + (to || r.kind || 'finish');
    this.trail('route', label, [r.kind, r.reason].filter(Boolean).join(': '));
  }

  /** message returns the message with id, creating it (for agent name) on first sight. */
  message(id, name, role = 'assistant') {
    let m = this.messages.get(id);
    if (m) {
      if (name && !m.agent.textContent) m.agent.textContent = name;
      return m;
    }
    const agentName = name || this.agent || role;
    const text = document.createTextNode('');
    const agent = el('span', { class: 'agent' }, agentName);
    const body = el('div', { class: 'msg-text' }, text);
    const node = el('article', { class: 'msg msg-' + role + ' streaming', 'data-message-id': id, 'data-agent': agentName },
      el('header', { class: 'msg-head' }, agent), body);
    this.items.append(node);
    m = { node, text, agent };
    this.messages.set(id, m);
    return m;
  }

  messageDelta(id, delta) {
    this.message(id).text.appendData(delta);
  }

  messageEnd(id) {
    const m = this.messages.get(id);
    if (m) m.node.classList.remove('streaming');
  }

  /** reasoningBlock returns a collapsed "Reasoning" block, created on first sight. */
  reasoningBlock(id) {
    let r = this.reasoning.get(id);
    if (r) return r;
    const text = document.createTextNode('');
    const node = el('details', { class: 'reasoning' },
      el('summary', {}, 'Reasoning', this.agent ? ' · ' + this.agent : ''), el('div', { class: 'reasoning-text' }, text));
    this.items.append(node);
    r = { node, text };
    this.reasoning.set(id, r);
    return r;
  }

  /** tool returns the card of tool call id, creating it on first sight. */
  tool(id, name) {
    let t = this.tools.get(id);
    if (t) {
      if (name && !t.name.textContent) t.name.textContent = name;
      return t;
    }
    const args = document.createTextNode('');
    const argsPre = el('pre', { class: 'tool-args', 'aria-label': 'Arguments' }, args);
    const result = el('pre', { class: 'tool-result', 'aria-label': 'Result', hidden: true });
    const state = el('span', { class: 'tool-state' }, 'calling…');
    const nameEl = el('span', { class: 'tool-name' }, name || '');
    const control = CONTROL_TOOL.test(name || '');
    const head = el('div', { class: 'tool-head' }, el('span', { class: 'tool-icon', 'aria-hidden': 'true' }, control ? '⇢' : '⚙'),
      el('span', { class: 'tool-agent' }, this.agent || ''), nameEl, state);
    // A handoff or routing call is a decision the trail shows as a route chip: its card stays one
    // line, with the arguments and result a click away.
    const body = control ? [el('details', { class: 'tool-more' }, el('summary', {}, 'details'), argsPre, result)] : [argsPre, result];
    const card = el('div', { class: 'tool' + (control ? ' tool-control' : ''), 'data-tool-call-id': id, 'data-status': 'calling' },
      head, ...body);
    this.items.append(card);
    t = { card, args, argsPre, result, state, name: nameEl, raw: '' };
    this.tools.set(id, t);
    return t;
  }

  toolArgs(id, delta) {
    const t = this.tool(id);
    t.raw += delta;
    t.args.appendData(delta);
  }

  /** toolEnd shows the complete arguments (pretty-printed when given or when the stream is JSON). */
  toolEnd(id, args) {
    const t = this.tool(id);
    const full = args !== undefined ? args : t.raw;
    t.args.data = pretty(full);
    if (t.card.dataset.status === 'calling') this.toolState(t, 'running', 'running…');
  }

  /** toolResult shows what the tool returned; error results are marked as such. */
  toolResult(id, content, isError) {
    const t = this.tool(id);
    t.result.hidden = false;
    t.result.textContent = pretty(content);
    this.toolState(t, isError ? 'error' : 'ok', isError ? 'failed' : 'done');
  }

  toolState(t, status, label) {
    t.card.dataset.status = status;
    t.state.textContent = label;
  }

  /**
   * approval shows approve/deny controls for {id, call_id, tool, arguments, agent}: inside the
   * tool call's card when the call is known, else as a card of its own.
   */
  approval(a) {
    if (this.approvals.has(a.id)) return this.approvals.get(a.id);
    const host = a.call_id ? this.tool(a.call_id, a.tool).card : null;
    const reason = el('input', { type: 'text', class: 'approval-reason', placeholder: 'Reason (optional)',
      'aria-label': 'Reason for denying ' + (a.tool || 'the call') });
    const answer = (approve) => this.hooks.onAnswer(this, a.id, approve, reason.value.trim());
    const approveBtn = el('button', { type: 'button', class: 'btn btn-approve', onclick: () => answer(true) }, 'Approve');
    const denyBtn = el('button', { type: 'button', class: 'btn btn-deny', onclick: () => answer(false) }, 'Deny');
    const note = el('span', { class: 'approval-note' },
      (a.agent || this.agent || 'The agent') + ' wants to call ' + (a.tool || 'a tool') + '.');
    const box = el('div', { class: 'approval', role: 'group', 'aria-label': 'Approve ' + (a.tool || 'tool call'),
      'data-approval-id': a.id, 'data-status': 'pending' }, note);
    if (!host && a.arguments !== undefined) {
      box.append(el('pre', { class: 'tool-args', 'aria-label': 'Arguments' }, pretty(a.arguments)));
    }
    box.append(el('div', { class: 'approval-actions' }, reason, approveBtn, denyBtn));
    if (host) {
      this.toolState(this.tools.get(a.call_id), 'approval', 'needs approval');
      host.append(box);
    } else {
      this.items.append(box);
    }
    const entry = { box, note };
    this.approvals.set(a.id, entry);
    return entry;
  }

  /** approvalResolved shows the decision ("approved", "denied", or "void" for a run that ended), removing the controls. */
  approvalResolved(id, decision, reason) {
    const a = this.approvals.get(id);
    if (!a || a.box.dataset.status !== 'pending') return;
    a.box.dataset.status = decision;
    a.box.querySelector('.approval-actions').remove();
    const said = { approved: 'Approved', denied: 'Denied', void: 'Not answered: the run ended' }[decision] || decision;
    a.note.textContent = said + (reason ? ': ' + reason : '') + '.';
  }

  /** pendingApprovals lists the ids of approvals still waiting for an answer. */
  pendingApprovals() {
    return [...this.approvals].filter(([, a]) => a.box.dataset.status === 'pending').map(([id]) => id);
  }

  /** closeOpen marks everything still streaming or waiting as ended (a run that stopped mid-way). */
  closeOpen() {
    for (const id of this.pendingApprovals()) this.approvalResolved(id, 'void');
    for (const m of this.messages.values()) m.node.classList.remove('streaming');
    for (const t of this.tools.values()) {
      if (OPEN_TOOL.has(t.card.dataset.status)) this.toolState(t, 'aborted', 'stopped');
    }
  }
}
