// The chat page's controller: workflows, the conversation on screen, the composer and the socket.

import { el, clear, randomId } from './dom.js';
import { listWorkflows, listThreads, getThread, chatURL } from './api.js';
import { ChatSocket } from './socket.js';
import { RunView, TERMINAL } from './runview.js';
import { dispatch } from './frames.js';
import { renderThreads, renderHistory, userBubble } from './history.js';

const STORE_KEY = 'fleet.chat';
const $ = (id) => document.getElementById(id);

const ui = {
  workflow: $('workflow'),
  workflowHint: $('workflow-hint'),
  conn: $('conn'),
  connText: $('conn-text'),
  threads: $('threads'),
  newChat: $('new-chat'),
  transcript: $('transcript'),
  empty: $('empty'),
  alert: $('alert'),
  form: $('composer'),
  input: $('message'),
  send: $('send'),
  stop: $('stop'),
  menu: $('menu'),
  sidebar: $('sidebar'),
};

const state = {
  threadId: '',
  runs: new Map(), // runId -> {view, threadId}
  workflows: [],
};

const hooks = {
  changed: runChanged,
  onAnswer: answerApproval,
};

const socket = new ChatSocket(chatURL(), {
  frame: onFrame,
  protocol: onProtocol,
  state: showConnection,
});

// ---- the socket's side ----

function onFrame(runId, seq, frame) {
  const r = state.runs.get(runId);
  if (!r) return;
  dispatch(r.view, frame, hooks);
  if (r.view.root.isConnected) follow();
}

// The transcript follows new output while the reader is at its end, and stays put once they
// scroll up to read.
let stick = true;
let scrollQueued = false;

function follow() {
  if (!stick || scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  });
}

const protocolHandlers = {
  accepted(msg) {
    const r = state.runs.get(msg.runId);
    if (r && msg.threadId) r.threadId = msg.threadId;
    refreshThreads();
  },
  error(msg) {
    const r = msg.runId && state.runs.get(msg.runId);
    if (r && !TERMINAL.has(r.view.status) && r.view.status !== 'waiting') {
      r.view.closeOpen();
      r.view.setStatus('failed', msg.message || msg.code);
      runChanged(r.view);
      return;
    }
    showAlert(msg.message || msg.code || 'The server reported an error.');
  },
  shutdown() {
    showAlert('The server is shutting down; reconnecting when it is back.');
  },
};

function onProtocol(msg) {
  const h = protocolHandlers[msg.type];
  if (h) h(msg);
}

const CONN_TEXT = { connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Disconnected' };

function showConnection(s) {
  ui.conn.dataset.state = s;
  ui.connText.textContent = CONN_TEXT[s] || s;
  if (s === 'open') hideAlert();
}

// ---- runs ----

function activeRun() {
  for (const r of state.runs.values()) {
    if (r.threadId === state.threadId && !TERMINAL.has(r.view.status)) return r;
  }
  return null;
}

function runChanged(view) {
  if (TERMINAL.has(view.status)) {
    socket.forget(view.runId);
    refreshThreads();
  } else if (view.status === 'waiting') {
    socket.pause(view.runId);
    const first = view.root.querySelector('.approval[data-status="pending"] .btn-approve');
    if (first && view.root.isConnected) first.focus();
  }
  save();
  updateComposer();
}

function answerApproval(view, approvalId, approve, reason) {
  const msg = { type: approve ? 'approve' : 'deny', runId: view.runId, approvalId };
  if (!approve && reason) msg.reason = reason;
  socket.send(msg);
  view.approvalResolved(approvalId, approve ? 'approved' : 'denied', reason);
  if (view.pendingApprovals().length === 0) {
    view.setStatus('running');
    runChanged(view);
  }
}

function addRun(runId, threadId, turn) {
  const view = new RunView(runId, hooks);
  state.runs.set(runId, { view, threadId });
  turn.append(view.root);
  return view;
}

function sendMessage() {
  const text = ui.input.value.trim();
  if (!text || activeRun() || !ui.workflow.value) return;
  if (!state.threadId) state.threadId = randomId('thr');
  const runId = randomId('run');
  const turn = el('div', { class: 'turn' }, userBubble(text));
  ui.transcript.append(turn);
  addRun(runId, state.threadId, turn);
  ui.empty.hidden = true;
  ui.input.value = '';
  autosize();
  socket.startRun({ type: 'run', workflow: ui.workflow.value, threadId: state.threadId, message: text, format: 'agui', runId });
  save();
  updateComposer();
  stick = true;
  follow();
}

function cancelRun() {
  const r = activeRun();
  if (!r) return;
  ui.stop.disabled = true;
  r.view.statusText.textContent = 'Cancelling…';
  socket.send({ type: 'cancel', runId: r.view.runId });
}

// ---- threads ----

async function refreshThreads() {
  try {
    renderThreads(ui.threads, await listThreads(), state.threadId, openThread);
  } catch (err) {
    showAlert('Could not load conversations: ' + err.message);
  }
}

/** openThread shows a stored conversation; going lists its runs still going ({runId}). */
async function openThread(id, going = []) {
  let data;
  try {
    data = await getThread(id);
  } catch (err) {
    showAlert('Could not open the conversation: ' + err.message);
    return;
  }
  state.threadId = id;
  clear(ui.transcript);
  ui.transcript.append(ui.empty);
  // Runs of this thread that this page has shown keep their views (with their tool calls, and
  // streaming on if still going); runs found in the saved state after a reload are followed from
  // their start. The stored messages fill in the rest.
  const live = [...state.runs.values()].filter((r) => r.threadId === id);
  const skip = new Set([...going.map((f) => f.runId), ...live.map((r) => r.view.runId)]);
  const turns = renderHistory(ui.transcript, data.messages || [], skip);
  const turnOf = (runId) => turns.get(runId) || ui.transcript.appendChild(el('div', { class: 'turn' }));
  for (const r of live) turnOf(r.view.runId).append(r.view.root);
  for (const f of going) {
    if (state.runs.has(f.runId)) continue;
    addRun(f.runId, id, turnOf(f.runId));
    socket.follow(f.runId);
  }
  ui.empty.hidden = ui.transcript.children.length > 1;
  closeMenu();
  save();
  updateComposer();
  refreshThreads();
  stick = true;
  follow();
}

function newChat() {
  state.threadId = '';
  clear(ui.transcript);
  ui.transcript.append(ui.empty);
  ui.empty.hidden = false;
  closeMenu();
  save();
  updateComposer();
  refreshThreads();
  ui.input.focus();
}

// ---- page state across reloads ----

function save() {
  const runs = [];
  for (const [runId, r] of state.runs) {
    if (!TERMINAL.has(r.view.status)) runs.push({ runId, threadId: r.threadId });
  }
  sessionStorage.setItem(STORE_KEY, JSON.stringify({ threadId: state.threadId, workflow: ui.workflow.value, runs }));
}

function restore() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null') || {};
  } catch {
    return {};
  }
}

// ---- workflows ----

/** loadWorkflows fills the picker; false when the server refused the page (no or a wrong token). */
async function loadWorkflows(preferred) {
  try {
    state.workflows = await listWorkflows();
  } catch (err) {
    showAlert(err.status === 401
      ? 'This server needs a token: open the page as /?token=YOUR_TOKEN.'
      : 'Could not load workflows: ' + err.message);
    return err.status !== 401;
  }
  clear(ui.workflow);
  for (const w of state.workflows) ui.workflow.append(el('option', { value: w.name }, w.name));
  const names = state.workflows.map((w) => w.name);
  ui.workflow.value = [preferred, 'assistant', names[0]].find((n) => n && names.includes(n)) || '';
  showWorkflowHint();
  return true;
}

function showWorkflowHint() {
  const w = state.workflows.find((x) => x.name === ui.workflow.value);
  ui.workflowHint.textContent = w ? w.description || '' : '';
  ui.workflowHint.title = w && w.agents ? 'Agents: ' + w.agents.map((a) => a.name).join(', ') : '';
}

// ---- composer and chrome ----

function updateComposer() {
  const busy = !!activeRun();
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.stop.disabled = !busy;
  ui.send.disabled = busy || !ui.input.value.trim() || !ui.workflow.value;
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = Math.min(ui.input.scrollHeight, 200) + 'px';
}

function showAlert(text) {
  ui.alert.textContent = text;
  ui.alert.hidden = false;
}

function hideAlert() {
  ui.alert.hidden = true;
}

function closeMenu() {
  ui.sidebar.dataset.open = 'false';
  ui.menu.setAttribute('aria-expanded', 'false');
}

function wire() {
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    sendMessage();
  });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendMessage();
    }
  });
  ui.input.addEventListener('input', () => {
    autosize();
    updateComposer();
  });
  ui.stop.addEventListener('click', cancelRun);
  ui.transcript.addEventListener('scroll', () => {
    const t = ui.transcript;
    stick = t.scrollHeight - t.scrollTop - t.clientHeight < 60;
  }, { passive: true });
  ui.newChat.addEventListener('click', newChat);
  ui.workflow.addEventListener('change', () => {
    showWorkflowHint();
    save();
    updateComposer();
  });
  ui.menu.addEventListener('click', () => {
    const open = ui.sidebar.dataset.open !== 'true';
    ui.sidebar.dataset.open = String(open);
    ui.menu.setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeMenu();
  });
}

async function main() {
  wire();
  const saved = restore();
  const params = new URLSearchParams(location.search);
  if (!(await loadWorkflows(params.get('workflow') || saved.workflow))) {
    showConnection('closed');
    document.body.dataset.ready = 'true';
    return;
  }
  socket.connect();
  if (saved.threadId) {
    await openThread(saved.threadId, (saved.runs || []).filter((r) => r.threadId === saved.threadId));
  } else {
    refreshThreads();
  }
  updateComposer();
  ui.input.focus();
  document.body.dataset.ready = 'true';
}

// A handle for debugging from the console (and for the browser test's reconnect scenario).
window.fleetChat = { socket, state };

main();
