// Past conversations: the thread list in the sidebar and a reopened thread's messages
// (GET /v1/threads, GET /v1/threads/{id}).

import { el, clear, shortTime } from './dom.js';
import { RunView } from './runview.js';

/**
 * renderThreads fills list with one button per thread; current is marked with aria-current.
 * onOpen(id) is called when one is chosen.
 */
export function renderThreads(list, threads, current, onOpen) {
  clear(list);
  if (threads.length === 0) {
    list.append(el('li', { class: 'threads-empty' }, 'No conversations yet.'));
    return;
  }
  for (const t of threads) {
    const title = t.title || 'Untitled conversation';
    const btn = el('button', { type: 'button', class: 'thread', 'data-thread-id': t.id,
      'aria-current': t.id === current ? 'true' : null, title, onclick: () => onOpen(t.id) },
    el('span', { class: 'thread-title' }, title),
    el('time', { class: 'thread-time', datetime: t.updated_at || t.created_at || '' }, shortTime(t.updated_at || t.created_at)));
    list.append(el('li', {}, btn));
  }
}

/** userBubble is the transcript element of a message the user sent. */
export function userBubble(text) {
  return el('article', { class: 'msg msg-user' }, el('header', { class: 'msg-head' }, el('span', { class: 'agent' }, 'You')),
    el('div', { class: 'msg-text' }, text));
}

const noAnswer = { onAnswer() {} };

/** what each stored message role (a run's question, its final answer) adds to a reopened thread */
const roles = {
  user(ctx, m) {
    ctx.run = null;
    ctx.out.append(el('div', { class: 'turn' }, userBubble(m.content || '')));
  },
  assistant(ctx, m) {
    if (!m.content) return;
    const run = runOf(ctx, m);
    run.message('h' + m.seq, m.agent || 'assistant').text.appendData(m.content);
    run.messageEnd('h' + m.seq);
  },
};

function runOf(ctx, m) {
  const id = m.run_id || 'history';
  if (ctx.run && ctx.run.runId === id) return ctx.run;
  const run = new RunView(id, noAnswer);
  run.agent = m.agent || '';
  run.setStatus('done');
  run.root.classList.add('run-history');
  const turn = ctx.out.lastElementChild;
  (turn && turn.classList.contains('turn') ? turn : ctx.out).append(run.root);
  ctx.run = run;
  return run;
}

/**
 * renderHistory appends a thread's stored messages to out. Messages of the runs in skip (runs
 * still going, which the page replays from their events) are left out, except the user's.
 * Returns the turn element of each skipped run's user message, by run id.
 */
export function renderHistory(out, messages, skip = new Set()) {
  const ctx = { out, run: null };
  const turns = new Map();
  for (const m of messages) {
    if (m.run_id && skip.has(m.run_id)) {
      if (m.role === 'user') {
        roles.user(ctx, m);
        turns.set(m.run_id, out.lastElementChild);
      }
      continue;
    }
    const r = roles[m.role];
    if (r) r(ctx, m);
  }
  return turns;
}
