// ChatSocket speaks /v1/chat (docs/api.md): it sends runs, cancels and approval answers, hands each
// run frame over exactly once, and on a lost connection reconnects with backoff and resubscribes
// every active run from the last seq it handed over ({"type":"resume","runId","after"}).

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5000;

/** WAKES lists the messages after which a paused run streams again. */
const WAKES = new Set(['approve', 'deny', 'cancel']);

/**
 * Tracked is what the socket keeps per run: how far the page has its frames, and how to start the
 * run if the server never acknowledged it. The server labels each frame with its event's seq and,
 * on a frame that is not its event's last, with its part (0, 1, ...); "after": 12 means "every
 * frame of event 12", "after": 12, "part": 0 "the first frame of event 12 only".
 */
class Tracked {
  constructor(runId, start) {
    this.runId = runId;
    this.start = start; // the "run" message, until the server accepts it
    this.seq = 0;
    this.part = null; // null: every frame of event seq
    this.live = true; // resubscribe on reconnect
  }

  /** fresh reports whether a frame at (seq, part) is past the page's position, and moves it there. */
  fresh(seq, part) {
    if (!Number.isFinite(seq) || seq <= 0) return true; // frames tied to no event
    const p = Number.isInteger(part) ? part : Infinity;
    const have = this.part === null ? Infinity : this.part;
    if (seq < this.seq || (seq === this.seq && p <= have)) return false;
    this.seq = seq;
    this.part = Number.isInteger(part) ? part : null;
    return true;
  }

  /** resume is the message that resubscribes from the page's position. */
  resume() {
    const msg = { type: 'resume', runId: this.runId, after: this.seq };
    if (this.part !== null) msg.part = this.part;
    return msg;
  }
}

export class ChatSocket {
  /**
   * @param {string} url the /v1/chat address
   * @param {{frame(runId, seq, frame), protocol(msg), state(state)}} on callbacks: a run frame
   *   (each once), a protocol message (accepted, error), and the connection state
   *   ("connecting", "open", "reconnecting", "closed")
   */
  constructor(url, on) {
    this.url = url;
    this.on = on;
    this.runs = new Map();
    this.outbox = [];
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
  }

  connect() {
    this.stopped = false;
    this.on.state(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => this.opened(ws);
    ws.onmessage = (ev) => this.received(ev.data);
    ws.onclose = () => this.closed(ws);
  }

  /** close ends the connection for good (no reconnect). */
  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  /** drop closes the current connection as a network failure would; the socket reconnects. */
  drop() {
    if (this.ws) this.ws.close(4000, 'dropped');
  }

  get open() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** startRun sends {"type":"run",...} with a client-made runId and follows the run. */
  startRun(msg) {
    const t = new Tracked(msg.runId, msg);
    this.runs.set(msg.runId, t);
    if (this.open) this.ws.send(JSON.stringify(msg));
  }

  /** follow subscribes to a run already going (after a page reload, say) from its start. */
  follow(runId) {
    const t = new Tracked(runId, null);
    this.runs.set(runId, t);
    if (this.open) this.ws.send(JSON.stringify(t.resume()));
  }

  /** pause stops resubscribing a run that waits for approvals; send() of an answer resumes it. */
  pause(runId) {
    const t = this.runs.get(runId);
    if (t) t.live = false;
  }

  /** forget stops following a run that ended. */
  forget(runId) {
    this.runs.delete(runId);
  }

  /**
   * send sends a control message (cancel, approve, deny), queueing it while disconnected. An
   * answer to a paused run streams its continuation; a cancel of a paused run is followed by a
   * resume so that its end streams too.
   */
  send(msg) {
    const t = msg.runId && this.runs.get(msg.runId);
    const paused = !!t && !t.live;
    if (t && WAKES.has(msg.type)) t.live = true;
    this.post(msg);
    if (paused && msg.type === 'cancel') this.post(t.resume());
  }

  post(msg) {
    if (this.open) {
      this.ws.send(JSON.stringify(msg));
    } else {
      this.outbox.push(msg);
    }
  }

  opened(ws) {
    if (ws !== this.ws) return;
    this.attempt = 0;
    this.on.state('open');
    for (const t of this.runs.values()) {
      if (!t.live) continue;
      // A run never acknowledged is sent again: the same runId cannot start twice.
      ws.send(JSON.stringify(t.start && t.seq === 0 ? t.start : t.resume()));
    }
    const queued = this.outbox.splice(0);
    for (const msg of queued) ws.send(JSON.stringify(msg));
  }

  received(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.frame !== undefined && msg.runId) {
      const t = this.runs.get(msg.runId);
      if (t && !t.fresh(Number(msg.seq), msg.part)) return;
      if (t) t.start = null;
      this.on.frame(msg.runId, Number(msg.seq), msg.frame);
      return;
    }
    this.protocol(msg);
  }

  protocol(msg) {
    const t = msg.runId && this.runs.get(msg.runId);
    if (msg.type === 'accepted' && t) t.start = null;
    if (msg.type === 'error' && msg.code === 'run_exists' && t) {
      // Our run message reached the server before the connection broke: follow it instead.
      t.start = null;
      this.ws.send(JSON.stringify(t.resume()));
      return;
    }
    this.on.protocol(msg);
  }

  closed(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    if (this.stopped) {
      this.on.state('closed');
      return;
    }
    this.on.state('reconnecting');
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt++;
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * (base / 2));
  }
}
