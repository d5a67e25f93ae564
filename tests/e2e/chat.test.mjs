// Real-browser tests of the chat page that `fleet serve` serves at `/`: the real server binary
// (offline model, embedded store, first-party plugins) and Debian's Chromium, driven headless
// by playwright-core. Run: `npm ci && node --test` in this directory (or `make test-e2e`).
//
// Environment: FLEET_BIN (default <repo>/bin/fleet), FLEET_PLUGINS (default <repo>/bin/plugins),
// CHROMIUM (default /usr/bin/chromium), E2E_ARTIFACTS (default ./artifacts: screenshots).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const FLEET_BIN = process.env.FLEET_BIN || path.join(repo, 'bin/fleet');
const PLUGINS = process.env.FLEET_PLUGINS || path.join(repo, 'bin/plugins');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(here, 'artifacts');
// The offline model waits this long before each streamed piece, so a run lasts long enough to be
// cancelled or cut off mid-stream.
const TOKEN_DELAY = '50ms';
const STARTUP_MS = 30_000;
const STEP_MS = 20_000;

// Flags for Chromium on this machine (docs: .library/env/machines/go.md): no sandbox as root, and no
// background networking, which a closed network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server; // {proc, url, output}
let browser;
const dataDirs = [];

/**
 * startServer runs `fleet serve` (on a free port unless addr says otherwise, in a new data
 * directory unless dataDir is given) and resolves to {proc, url, output, dataDir} once it prints
 * its address.
 */
function startServer({ addr = '127.0.0.1:0', dataDir = '', args: extra = [] } = {}) {
  if (!dataDir) {
    dataDir = mkdtempSync(path.join(tmpdir(), 'fleet-e2e-'));
    dataDirs.push(dataDir);
  }
  const env = { ...process.env, FLEET_OFFLINE_DELAY: TOKEN_DELAY };
  delete env.OPENAI_API_KEY; // the offline model, always
  delete env.FLEET_TOKEN;
  const args = ['serve', '--addr', addr, '--data-dir', dataDir, '--plugins', PLUGINS, ...extra];
  const proc = spawn(FLEET_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  createInterface({ input: proc.stderr }).on('line', (l) => output.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`fleet serve printed no "fleet: serving URL" line within ${STARTUP_MS} ms:\n${output.join('\n')}`));
    }, STARTUP_MS);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      output.push(line);
      const m = /^fleet: serving (https?:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1].replace(/\/$/, ''), output, dataDir });
      }
    });
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${FLEET_BIN}: ${err.message}`));
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fleet serve exited (${code ?? signal}) before serving:\n${output.join('\n')}`));
    });
  });
}

/** stopServer ends a server with SIGTERM (SIGKILL if it has not exited 15 s later). */
function stopServer(srv = server) {
  if (!srv || srv.proc.exitCode !== null || srv.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => srv.proc.kill('SIGKILL'), 15_000);
    srv.proc.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    srv.proc.kill('SIGTERM');
  });
}

before(async () => {
  assert.ok(existsSync(FLEET_BIN),
    `the fleet binary is missing at ${FLEET_BIN}: run \`make build plugins\` at the repository root first, or set FLEET_BIN`);
  assert.ok(existsSync(PLUGINS), `the plugin directory is missing at ${PLUGINS}: run \`make plugins\` first, or set FLEET_PLUGINS`);
  assert.ok(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: \`apt-get install chromium\`, or set CHROMIUM`);
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await stopServer();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * openPage opens the chat page in a fresh browser context and waits until it is ready and its
 * socket is open. It records page errors and every WebSocket the page opens.
 */
async function openPage(t, { query = '', viewport = { width: 1200, height: 800 }, colorScheme = 'light', base = '' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const errors = [];
  const sockets = [];
  const sent = []; // every frame the page sent on any socket, parsed
  page.on('pageerror', (err) => errors.push(err));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(new Error(msg.text())); });
  page.on('websocket', (ws) => {
    sockets.push(ws);
    ws.on('framesent', (f) => sent.push(JSON.parse(f.payload)));
  });
  t.page = page;
  await page.goto((base || server.url) + '/' + query);
  await ready(page);
  return { context, page, errors, sockets, sent };
}

/**
 * scenario is a test whose failure message also shows what the page and the server showed: the
 * transcript's text, the page's alert and the last lines the server printed.
 */
function scenario(name, fn) {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      let page = '(no page)';
      if (t.page && !t.page.isClosed()) {
        page = await t.page.evaluate(() =>
          `conn=${document.getElementById('conn').dataset.state} alert=${document.getElementById('alert').textContent}\n` +
          document.getElementById('transcript').innerText).catch((e) => `(page unreadable: ${e.message})`);
      }
      err.message += `\n--- page:\n${page}\n--- server (last lines):\n${server.output.slice(-15).join('\n')}`;
      throw err;
    }
  });
}

async function ready(page) {
  await page.locator('body[data-ready="true"]').waitFor();
  await page.locator('#conn[data-state="open"]').waitFor();
}

/** ask types text into the message box and presses Enter. */
async function ask(page, text) {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

/** lastRun is the latest run block on the page. */
const lastRun = (page) => page.locator('.run').last();

/** settled waits until the latest run on the page has status (done, waiting, cancelled...). */
async function settled(page, status, timeout = STEP_MS) {
  await page.waitForFunction((want) => {
    const runs = document.querySelectorAll('.run');
    return runs.length > 0 && runs[runs.length - 1].dataset.status === want;
  }, status, { timeout });
}

/** answerText is the text of the run's last assistant message. */
const answerText = (run) => run.locator('.msg-assistant .msg-text').last().textContent();

/** words makes n distinct words, so a duplicate or a gap in the streamed text shows. */
const words = (n, prefix) => Array.from({ length: n }, (_, i) => prefix + String(i + 1).padStart(3, '0'));

/** waitWords waits until the run's last message shows at least n words. */
async function waitWords(page, n) {
  await page.waitForFunction((min) => {
    const runs = document.querySelectorAll('.run');
    const msgs = runs[runs.length - 1]?.querySelectorAll('.msg-assistant .msg-text');
    const text = msgs && msgs.length ? msgs[msgs.length - 1].textContent : '';
    return text.trim().split(/\s+/).filter(Boolean).length >= min;
  }, n);
}

/**
 * recordLengths collects, in the page, every length the text of the last element matching each
 * selector had while it streamed: window.__lengths[name] for each {name: selector}.
 */
async function recordLengths(page, selectors) {
  await page.evaluate((sels) => {
    window.__lengths = Object.fromEntries(Object.keys(sels).map((k) => [k, []]));
    new MutationObserver(() => {
      for (const [name, sel] of Object.entries(sels)) {
        const all = document.querySelectorAll(sel);
        const len = all.length ? all[all.length - 1].textContent.length : 0;
        const seen = window.__lengths[name];
        if (len && seen[seen.length - 1] !== len) seen.push(len);
      }
    }).observe(document.getElementById('transcript'), { subtree: true, childList: true, characterData: true });
  }, selectors);
}

scenario('calculator: the tool call streams with its arguments and result, the answer comes from "assistant"', async (t) => {
  const { page, errors } = await openPage(t);
  assert.equal(await page.locator('#workflow').inputValue(), 'assistant', 'the default workflow is preselected');
  await recordLengths(page, { answer: '.msg-assistant .msg-text', args: '.tool-args' });
  await ask(page, 'What is 17*23?');

  const run = lastRun(page);
  await settled(page, 'done');
  const tool = run.locator('.tool');
  assert.equal(await tool.count(), 1);
  assert.equal((await tool.locator('.tool-name').textContent()).trim(), 'calculate');
  assert.equal(await tool.getAttribute('data-status'), 'ok');
  assert.deepEqual(JSON.parse(await tool.locator('.tool-args').textContent()), { expression: '17*23' });
  assert.match(await tool.locator('.tool-result').textContent(), /391/);

  const msg = run.locator('.msg-assistant').last();
  assert.equal(await msg.getAttribute('data-agent'), 'assistant');
  assert.equal((await msg.locator('.agent').textContent()).trim(), 'assistant');
  assert.match(await answerText(run), /391/);
  assert.ok(!(await msg.getAttribute('class')).includes('streaming'), 'the message is closed');

  const lengths = await page.evaluate(() => window.__lengths);
  assert.ok(lengths.answer.length >= 3, `the answer streamed in pieces (lengths seen: ${lengths.answer})`);
  assert.ok(lengths.args.length >= 3, `the arguments streamed in pieces (lengths seen: ${lengths.args})`);
  assert.match(await run.locator('.run-status').textContent(), /Done.*\d+ tokens/, 'usage shows at the end');
  assert.ok(await run.locator('.chip-step', { hasText: 'assistant' }).count() >= 1, 'the step is shown');
  assert.equal(await page.locator('#send').isVisible(), true);
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'calculator.png'), fullPage: true });
});

scenario('approval: http_fetch waits for a decision, deny lets the run continue without it', async (t) => {
  const { page, errors } = await openPage(t, { query: '?workflow=approval' });
  assert.equal(await page.locator('#workflow').inputValue(), 'approval');
  const target = server.url + '/healthz';
  await ask(page, 'Fetch ' + target);

  const run = lastRun(page);
  await settled(page, 'waiting');
  const approval = run.locator('.approval[data-status="pending"]');
  assert.equal(await approval.count(), 1);
  const tool = run.locator('.tool').filter({ has: page.locator('.approval') });
  assert.equal((await tool.locator('.tool-name').textContent()).trim(), 'http_fetch');
  assert.deepEqual(JSON.parse(await tool.locator('.tool-args').textContent()), { url: target });
  const approve = approval.getByRole('button', { name: 'Approve' });
  const deny = approval.getByRole('button', { name: 'Deny' });
  assert.ok(await approve.isVisible());
  assert.ok(await deny.isVisible());
  assert.ok(await page.locator('#send').isHidden(), 'no new question while the run waits');
  await page.screenshot({ path: path.join(ARTIFACTS, 'approval.png'), fullPage: true });

  await approval.getByRole('textbox').fill('not today');
  await deny.click();
  await settled(page, 'done');
  assert.equal(await run.locator('.approval').getAttribute('data-status'), 'denied');
  assert.equal(await tool.getAttribute('data-status'), 'error', 'the denied call shows as failed');
  const answer = await answerText(run);
  assert.match(answer, /http_fetch/, 'the answer says the fetch did not happen');
  assert.doesNotMatch(answer, /status 200/);
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'approval-denied.png'), fullPage: true });
});

scenario('approval: Stop on a run waiting for approval cancels it', async (t) => {
  const { page, errors } = await openPage(t, { query: '?workflow=approval' });
  await ask(page, 'Fetch ' + server.url + '/readyz');
  await settled(page, 'waiting');
  await page.locator('#stop').click();
  await settled(page, 'cancelled');
  assert.equal(await lastRun(page).locator('.approval button').count(), 0, 'no decision is asked for any more');
  assert.equal(await lastRun(page).locator('.approval').getAttribute('data-status'), 'void');
  assert.equal(await lastRun(page).locator('.tool').getAttribute('data-status'), 'aborted');
  assert.ok(await page.locator('#send').isVisible());
  assert.deepEqual(errors, []);
});

scenario('cancel: Stop ends a slow stream and the run shows cancelled', async (t) => {
  const { page, errors } = await openPage(t);
  const all = words(150, 'c');
  await ask(page, 'Say exactly: ' + all.join(' '));
  await waitWords(page, 5);
  assert.ok(await page.locator('#stop').isVisible());
  await page.locator('#stop').click();

  const run = lastRun(page);
  await settled(page, 'cancelled');
  assert.match(await run.locator('.run-status').textContent(), /Cancelled/);
  const shown = (await answerText(run)).trim().split(/\s+/);
  assert.ok(shown.length < all.length, `cancel stopped the stream (${shown.length} of ${all.length} words)`);
  assert.deepEqual(shown, all.slice(0, shown.length), 'what arrived before the cancel is intact');
  assert.ok(await page.locator('#send').isVisible(), 'the composer is usable again');
  assert.ok(!(await page.locator('#stop').isVisible()));
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'cancelled.png') });
});

scenario('reconnect: a dropped socket resumes the run from the last seq, no word lost or repeated', async (t) => {
  const { page, errors, sockets, sent } = await openPage(t);
  const all = words(60, 'r');
  await ask(page, 'Say exactly: ' + all.join(' '));
  await waitWords(page, 8);
  await page.evaluate(() => window.fleetChat.socket.drop());
  await settled(page, 'done');

  assert.ok(sockets.length >= 2, `the page reconnected (${sockets.length} sockets)`);
  const runs = sent.filter((m) => m.type === 'run');
  const resumes = sent.filter((m) => m.type === 'resume');
  assert.equal(runs.length, 1, 'the question was sent once');
  assert.ok(resumes.length >= 1 && resumes.every((m) => m.runId === runs[0].runId && m.after > 0),
    `the page resumed its run after the last seq it saw: ${JSON.stringify(resumes)}`);
  assert.deepEqual((await answerText(lastRun(page))).trim().split(/\s+/), all);
  assert.equal(await page.locator('.msg-assistant').count(), 1, 'one answer, not a second run');
  assert.deepEqual(errors, []);
});

scenario('reconnect: going offline mid-stream and back gives the whole text once', async (t) => {
  const { page, context, errors, sockets } = await openPage(t);
  const all = words(60, 'o');
  await ask(page, 'Say exactly: ' + all.join(' '));
  await waitWords(page, 8);
  await context.setOffline(true);
  await page.evaluate(() => window.fleetChat.socket.drop()); // offline mode alone keeps open sockets
  await page.locator('#conn[data-state="reconnecting"]').waitFor();
  await context.setOffline(false);
  await settled(page, 'done');
  assert.ok(sockets.length >= 2, `the page reconnected (${sockets.length} sockets)`);
  assert.deepEqual((await answerText(lastRun(page))).trim().split(/\s+/), all);
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|WebSocket/.test(e.message)), []);
});

scenario('reload mid-stream: the page reopens the conversation and follows the run to its end', async (t) => {
  const { page, errors } = await openPage(t);
  const all = words(60, 'p');
  const question = 'Say exactly: ' + all.join(' ');
  await ask(page, question);
  await waitWords(page, 8);
  await page.reload();
  await ready(page);
  await settled(page, 'done');
  assert.deepEqual((await answerText(lastRun(page))).trim().split(/\s+/), all);
  assert.equal(await page.locator('.msg-user').count(), 1, 'the question shows once');
  assert.equal(await page.locator('.msg-user .msg-text').textContent(), question);
  assert.equal(await page.locator('.msg-assistant').count(), 1, 'the answer shows once');
  assert.deepEqual(errors, []);
});

scenario('threads: a past conversation is listed and reopens with its stored messages', async (t) => {
  const first = await openPage(t);
  await ask(first.page, 'Say exactly: remember the blue heron');
  await settled(first.page, 'done');
  const threadId = await first.page.evaluate(() => window.fleetChat.state.threadId);
  await first.page.getByRole('button', { name: 'New chat' }).click();
  assert.equal(await first.page.locator('.msg').count(), 0, 'a new chat starts empty');

  // A fresh page knows nothing of the run: what it shows comes from GET /v1/threads/{id}.
  const { page, errors } = await openPage(t);
  const entry = page.locator(`.thread[data-thread-id="${threadId}"]`);
  await entry.click();
  await page.locator('.msg-assistant').first().waitFor();
  assert.equal(await entry.getAttribute('aria-current'), 'true');
  assert.equal(await page.locator('.msg-user .msg-text').textContent(), 'Say exactly: remember the blue heron');
  assert.equal(await page.locator('.msg-assistant .msg-text').textContent(), 'remember the blue heron');
  assert.equal(await page.locator('.msg-assistant').getAttribute('data-agent'), 'assistant');

  await ask(page, 'Say exactly: and the grey one');
  await settled(page, 'done');
  assert.equal(await page.evaluate(() => window.fleetChat.state.threadId), threadId, 'the reopened thread continues');
  assert.deepEqual((await page.locator('.msg-text').allTextContents()),
    ['Say exactly: remember the blue heron', 'remember the blue heron', 'Say exactly: and the grey one', 'and the grey one']);
  assert.deepEqual([...first.errors, ...errors], []);
});

scenario('threads: reopening the conversation being streamed keeps it streaming', async (t) => {
  const { page, errors } = await openPage(t);
  const all = words(40, 't');
  await ask(page, 'Say exactly: ' + all.join(' '));
  await waitWords(page, 5);
  const threadId = await page.evaluate(() => window.fleetChat.state.threadId);
  await page.locator(`.thread[data-thread-id="${threadId}"]`).click();
  await settled(page, 'done');
  assert.deepEqual((await answerText(lastRun(page))).trim().split(/\s+/), all);
  assert.equal(await page.locator('.msg-user').count(), 1);
  assert.equal(await page.locator('.msg-assistant').count(), 1);
  assert.deepEqual(errors, []);
});

scenario('escaping: markup in model output shows as text and never runs', async (t) => {
  const { page, errors } = await openPage(t);
  const evil = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>';
  await ask(page, 'Say exactly: ' + evil);
  await settled(page, 'done');
  assert.equal(await answerText(lastRun(page)), evil);
  assert.equal(await page.locator('#transcript img, #transcript b, #transcript script').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
});

scenario('narrow screens (dark): the conversation list is a drawer and the chat fits', async (t) => {
  const { page, errors } = await openPage(t, { viewport: { width: 390, height: 780 }, colorScheme: 'dark' });
  await ask(page, 'What is 6*7?');
  await settled(page, 'done');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  const menu = page.getByRole('button', { name: 'Conversations' });
  assert.ok(await menu.isVisible());
  const box = await page.locator('#sidebar').boundingBox();
  assert.ok(box.x + box.width <= 0, `the drawer starts closed (x=${box.x})`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'narrow.png') });
  await menu.click();
  await page.locator('#sidebar[data-open="true"]').waitFor();
  await page.getByRole('button', { name: 'New chat' }).click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.deepEqual(errors, []);
});

scenario('server restart mid-stream: the page waits, reconnects and follows the resumed run to its end', async (t) => {
  const { page, errors, sent } = await openPage(t);
  const all = words(60, 's');
  await ask(page, 'Say exactly: ' + all.join(' '));
  await waitWords(page, 8);
  const addr = new URL(server.url).host;
  await stopServer(); // SIGTERM: the server tells the page it shuts down, the run checkpoints
  await page.locator('#conn:not([data-state="open"])').waitFor();
  server = await startServer({ addr, dataDir: server.dataDir }); // the run resumes in the new process
  await settled(page, 'done', 40_000);

  const run = lastRun(page);
  assert.deepEqual((await answerText(run)).trim().split(/\s+/), all, 'the last answer is whole');
  const resumes = sent.filter((m) => m.type === 'resume');
  assert.ok(resumes.length >= 1 && resumes.every((m) => m.after > 0), `resumed after the last seq seen: ${JSON.stringify(resumes)}`);
  assert.equal(sent.filter((m) => m.type === 'run').length, 1, 'no second run');
  await page.screenshot({ path: path.join(ARTIFACTS, 'restart.png'), fullPage: true });
  assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e.message)), []);
});

scenario('token: ?token= in the page address reaches the API and the WebSocket', async (t) => {
  const guarded = await startServer({ args: ['--token', 'e2e-secret'] });
  t.after(() => stopServer(guarded));
  const res = await fetch(guarded.url + '/v1/workflows');
  assert.equal(res.status, 401, 'the API needs the token');

  const { page, errors } = await openPage(t, { base: guarded.url, query: '?token=e2e-secret' });
  await ask(page, 'Say exactly: the token works');
  await settled(page, 'done');
  assert.equal(await answerText(lastRun(page)), 'the token works');
  await page.locator('.thread').first().waitFor();
  assert.deepEqual(errors, []);

  const denied = await (await browser.newContext()).newPage();
  t.after(() => denied.context().close());
  await denied.goto(guarded.url + '/');
  await denied.locator('body[data-ready="true"]').waitFor();
  assert.match(await denied.locator('#alert').textContent(), /needs a token/);
  assert.equal(await denied.locator('#conn').getAttribute('data-state'), 'closed', 'no socket without the token');
});
