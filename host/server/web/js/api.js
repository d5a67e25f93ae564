// HTTP side of the page: workflows and threads (docs/api.md). A `?token=` in the page's URL is sent
// as a bearer token on every request and passed on to the WebSocket.

const token = new URLSearchParams(location.search).get('token') || '';

/** ApiError carries the server's stable error code (docs/api.md, "Errors"). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function getJSON(path) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(path, { headers, cache: 'no-store' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
  }
  return body;
}

/** listWorkflows resolves to [{name, description, pattern, agents}]. */
export async function listWorkflows() {
  return (await getJSON('/v1/workflows')).workflows || [];
}

/** listThreads resolves to [{id, title, created_at, updated_at}], most recent first. */
export async function listThreads() {
  return (await getJSON('/v1/threads')).threads || [];
}

/** getThread resolves to {thread, messages: [{seq, role, agent, content, run_id, created_at}]}. */
export async function getThread(id) {
  return getJSON('/v1/threads/' + encodeURIComponent(id));
}

/** chatURL is the WebSocket address of /v1/chat, with the page's token if it has one. */
export function chatURL() {
  const url = new URL('/v1/chat', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) url.searchParams.set('token', token);
  return url.toString();
}
