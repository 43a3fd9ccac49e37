// canistry WebSocket client: GET /ws/client.js (an ES module, served by the notifier beside /ws
// and by the api through its proxy). Types: /ws/client.d.ts.
//
//   import { connect } from '/ws/client.js';
//   const feed = connect('/ws', { last: 20, onEvent: (e) => console.log(e.id, e.event, e.data) });
//   feed.close();
//
// What it does for you:
// - Reconnects after any drop (a notifier restart, a proxy timeout, a close for slowness) with
//   jittered exponential backoff: attempt n waits a random time between half and all of
//   min(max, base * 2^n); base 500 ms and max 30 s unless given. A connection that opened resets
//   the count.
// - Resumes from the cursor of the last event it delivered (?since=<cursor>), so the server
//   replays exactly what was missed. It never delivers a logged event twice or out of order:
//   any id not above the last one delivered is dropped.
// - Hands replay.reset (the cursor is of another log: the database was recreated; the replay
//   starts again at id 1, drop what you derived) to onReset and replay.gap (retention deleted
//   events after the cursor) to onGap, before the events that follow them.
// - close() closes for good: no callback and no reconnect after it.

/** Default backoff, in milliseconds. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30000;

/**
 * Connects to a canistry /ws endpoint and keeps the connection.
 * @param {string|URL} url the /ws URL: ws(s)://…, http(s)://… or a path relative to the page
 * @param {import('./client.d.ts').Options} [opts]
 * @returns {import('./client.d.ts').Connection}
 */
export function connect(url, opts = {}) {
  const WS = opts.WebSocket || globalThis.WebSocket;
  if (typeof WS !== 'function') throw new TypeError('connect: no WebSocket implementation (pass opts.WebSocket)');
  const base = Number(opts.backoff?.base) > 0 ? Number(opts.backoff.base) : BACKOFF_BASE_MS;
  const cap = Number(opts.backoff?.max) > 0 ? Number(opts.backoff.max) : BACKOFF_MAX_MS;
  const target = endpoint(url);
  let cursor = opts.since === undefined || opts.since === null ? '' : String(opts.since);
  let lastId = cursor ? Number(cursor.split(':').pop()) || 0 : 0; // the id of the last logged event delivered (or given as since)
  let attempt = 0;
  let sock = null;
  let timer = null;
  let closed = false;

  const call = (name, ...args) => {
    const f = opts[name];
    if (closed || typeof f !== 'function') return;
    try { f(...args); } catch (err) { setTimeout(() => { throw err; }); } // a callback's error is reported, not fatal
  };

  const query = () => {
    const u = new URL(target);
    for (const [k, v] of [['events', list(opts.events)], ['token', opts.token], ['miner', opts.miner]]) {
      if (v) u.searchParams.set(k, String(v));
    }
    if (cursor) u.searchParams.set('since', cursor);
    else if (opts.last) u.searchParams.set('last', String(opts.last));
    return u.toString();
  };

  const deliver = (e) => {
    if (e === null || typeof e !== 'object' || typeof e.event !== 'string') return;
    if (e.event === 'replay.reset') {
      lastId = 0; // the replay starts again at this log's beginning
      cursor = '';
      call('onReset', e);
      return;
    }
    if (e.event === 'replay.gap') { call('onGap', e); return; }
    if (!(e.id > 0)) { call('onEvent', e); return; } // not a logged event: nothing to resume from
    if (e.id <= lastId) return; // already delivered
    lastId = e.id;
    cursor = typeof e.cursor === 'string' ? e.cursor : String(e.id);
    call('onEvent', e);
  };

  const open = () => {
    timer = null;
    call('onState', 'connecting', { attempt });
    const s = new WS(query());
    sock = s;
    s.onopen = () => {
      if (sock !== s) return;
      attempt = 0;
      call('onState', 'open', {});
    };
    s.onerror = () => {}; // a close follows, and is handled there
    s.onmessage = (m) => {
      if (sock !== s) return;
      let e;
      try { e = JSON.parse(String(m.data)); } catch { return; }
      deliver(e);
    };
    s.onclose = (ev) => {
      if (sock !== s || closed) return;
      sock = null;
      const full = Math.min(cap, base * 2 ** Math.min(attempt, 30));
      const delay = Math.round(full / 2 + Math.random() * (full / 2));
      attempt++;
      call('onState', 'reconnecting', { delay, code: ev.code, reason: ev.reason || '' });
      timer = setTimeout(open, delay);
    };
  };

  open();
  return {
    close() {
      if (closed) return;
      call('onState', 'closed', {});
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      const s = sock;
      sock = null;
      if (!s) return;
      s.onmessage = null;
      if (s.readyState === 0) s.onopen = () => s.close(1000); // closing before it opened makes browsers warn
      else s.close(1000);
    },
    get cursor() { return cursor; },
    get lastId() { return lastId; },
  };
}

// endpoint resolves url against the page (in a browser) and gives it a ws: or wss: scheme.
function endpoint(url) {
  const u = new URL(String(url), globalThis.location ? globalThis.location.href : undefined);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`connect: not a WebSocket URL: ${u}`);
  return u.toString();
}

// list joins an array of event names with commas; a string passes unchanged.
function list(v) {
  return Array.isArray(v) ? v.join(',') : v;
}
