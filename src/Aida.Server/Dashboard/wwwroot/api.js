// The dashboard's only door to Aida: same-origin fetches with the session cookie, the CSRF token on every change,
// problem+json turned into errors, and the Prometheus HTTP API for time series.

let csrfToken = null;

/** Thrown for any answer that is not 2xx; carries the status and the problem's detail when there is one. */
export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
  }
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) {
    throw new ApiError(response.status, json && json.title, json && json.detail);
  }
  return json;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});

/** The signed-in user ({name, role, csrf_token}), or null when there is no session. */
export async function session() {
  try {
    const s = await get('/api/session');
    csrfToken = s.csrf_token;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function login(key) {
  const s = await request('POST', '/api/session', { key });
  csrfToken = s.csrf_token;
  return s;
}

export async function logout() {
  try { await request('DELETE', '/api/session'); } finally { csrfToken = null; }
}

/** An instant PromQL query at plant time `at` (ISO string or seconds); the result vector. */
export async function query(expr, at) {
  const params = new URLSearchParams({ query: expr });
  if (at !== undefined) params.set('time', toSeconds(at));
  const r = await get(`/api/v1/query?${params}`);
  return r.data.result;
}

/** A range query; each series as {metric, points: [[seconds, value]]}. */
export async function queryRange(expr, start, end, step) {
  const params = new URLSearchParams({ query: expr, start: toSeconds(start), end: toSeconds(end), step: String(step) });
  const r = await get(`/api/v1/query_range?${params}`);
  return r.data.result.map((s) => ({ metric: s.metric, points: s.values.map(([t, v]) => [Number(t), Number(v)]) }));
}

export function toSeconds(at) {
  return typeof at === 'number' ? String(at) : String(Date.parse(at) / 1000);
}

/** Wraps an async refresh so that it runs at most once every `ms` and never overlaps itself (live events come each second). */
export function throttled(ms, refresh) {
  let busy = false;
  let last = -Infinity;
  return async () => {
    const now = performance.now();
    if (busy || now - last < ms) return;
    busy = true;
    last = now;
    try {
      await refresh();
    } finally {
      busy = false;
    }
  };
}
