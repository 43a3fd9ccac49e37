// canistry dashboard: renders the page the URL names from the registry's REST API (same
// origin) and, on the overview, the live event ticker from /ws. No framework; one vendored
// library, uPlot, draws the charts (charts.js); nothing from another origin. Every page's filters and cursor live in its URL, so any view can be shared.
'use strict';

const main = document.getElementById('main');
let generation = 0; // a render started later wins over one still awaiting replies
let ticker = null; // the overview's /ws connection (/ws/client.js), closed when leaving it

// ---------- DOM helpers (text only: nothing from the API is parsed as HTML) ----------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const link = (href, text, attrs) => el('a', Object.assign({ href }, attrs || {}), text);
const code = (text) => el('code', {}, text);
const muted = (text) => el('span', { class: 'muted' }, text);

function section(title, ...children) {
  return el('section', {}, el('h2', {}, title), ...children);
}

// dl renders [label, value] pairs; a null value shows as "—".
function dl(pairs) {
  const d = el('dl');
  for (const [k, v] of pairs) {
    d.append(el('dt', {}, k), el('dd', {}, v === null || v === undefined || v === '' ? muted('—') : v));
  }
  return d;
}

// table renders rows under columns [{label, cell(row) → node|string, cls}] in a wrapper that
// scrolls sideways on a narrow screen instead of the page.
function table(columns, rows, empty) {
  if (rows.length === 0) return empty instanceof Node ? empty : el('p', { class: 'muted empty' }, empty || 'Nothing here.');
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.cls }, c.label)));
  const body = rows.map((r) => el('tr', {}, columns.map((c) => el('td', { class: c.cls }, c.cell(r)))));
  return el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, head), el('tbody', {}, body)));
}

// emptyHint is what a list with no rows and no filter says: nothing is registered or
// received yet, and the one command that changes that (filtered lists say "no match").
function emptyHint(params, filtered, what, command, after) {
  const any = [...params.keys()].some((k) => k !== 'limit' && k !== 'order');
  if (any) return filtered;
  return el('div', { class: 'empty' }, el('p', {}, what), el('pre', {}, command), after ? el('p', { class: 'muted' }, after) : null);
}

const REGISTER_HINT = `curl -X POST ${location.origin}/canisters -H "Authorization: Bearer $ADMIN_API_KEY" \\
  -H 'Content-Type: application/json' -d '{"canister_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","kind":"token"}'`;
const demoHint = () => ['Or run ', code('make demo'), ' in a checkout of canistry: a local replica double with demo canisters and miners, no internet needed.'];

// ---------- formatting: exact, from strings ----------

// groupDigits puts thousands separators into a string of digits.
function groupDigits(s) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return out;
}

// formatUnits renders a nat (decimal string, any size) in units of 10^decimals, exactly:
// the digits are moved, never converted to a number. Trailing fractional zeros are dropped.
function formatUnits(value, decimals) {
  if (value === null || value === undefined) return null;
  if (!/^[0-9]+$/.test(value)) return value;
  const d = Math.max(0, Number(decimals) || 0);
  const s = value.replace(/^0+(?=[0-9])/, '').padStart(d + 1, '0');
  const int = s.slice(0, s.length - d);
  const frac = s.slice(s.length - d).replace(/0+$/, '');
  return groupDigits(int) + (frac ? '.' + frac : '');
}

// breakable lets a long grouped number wrap only after its thousands separators (<wbr>), so
// a narrow column never splits a group or a short number like a fee.
const breakable = (s) => (s ? s.split(',').flatMap((g, i) => (i ? [',', el('wbr'), g] : [g])) : s);

const formatNat = (value) => (value === null || value === undefined ? null : /^[0-9]+$/.test(value) ? groupDigits(value) : value);

// formatTime shows an RFC 3339 UTC time as "2025-03-01 12:00:00 UTC" (from the string itself).
function formatTime(iso) {
  if (!iso) return null;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? el('time', { datetime: iso }, m[1] + ' ' + m[2] + ' UTC') : iso;
}

function shortHash(h) {
  return h ? code(h.slice(0, 10) + '…' + h.slice(-6)) : muted('none');
}

const BADGE_HELP = {
  verified: 'module hash is a known build',
  blackholed: 'no controller but known public blackholes: the code can no longer change',
  immutable: 'no code install for 30 days (since the certified last install, or since first seen)',
  controller_changed: 'controllers changed within the last 7 days',
  icrc2: 'the ledger declares ICRC-2 (approve and transfer_from)',
  icrc3: 'the ledger declares ICRC-3 (a certified block log)',
  indexed: 'the ledger names its index canister (ICRC-106)',
  privileged: 'the ledger declares privileged mint/burn, freeze or pause rights (ICRC-152/153/154)',
};

// CYCLES_SOURCE says where the poller read a canister's cycles (a cycles point's source).
const CYCLES_SOURCE = {
  public_status: 'Read from the management canister: this canister\'s status is public.',
  blackhole: 'Read through the public blackhole, which controls this canister.',
  sns_root: 'Read from its SNS root\'s summary of the DAO\'s canisters.',
};

function badges(list) {
  if (!list || list.length === 0) return muted('—');
  return el('span', { class: 'badges' }, list.map((b) => el('span', { class: 'badge badge-' + b, title: BADGE_HELP[b] || b }, b.replace('_', ' '))));
}

function canisterLink(id, kind, name) {
  const page = kind === 'token' ? '/ui/tokens/' : kind === 'miner' ? '/ui/miners/' : kind === 'wallet' ? '/ui/wallets/' : '/ui/canisters/';
  return link(page + id, name || id, { class: name ? null : 'id' });
}

// ---------- the API ----------

async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    throw new Error(path + ': ' + res.status + ' (not JSON)');
  }
  if (!res.ok) throw new Error((body && body.error && body.error.message) || path + ': ' + res.status);
  return body;
}

// apiQuery builds an API path from the page's URL parameters that the endpoint understands.
function apiQuery(path, params, names, extra) {
  const q = new URLSearchParams();
  for (const n of names) {
    const v = params.get(n);
    if (v !== null && v !== '') q.set(n, v);
  }
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
  const s = q.toString();
  return s ? path + '?' + s : path;
}

// pager shows how many rows there are and links to the next page (the same URL with the
// reply's next_cursor) and back to the first.
function pager(list, params) {
  const p = el('nav', { class: 'pager', 'aria-label': 'pages' });
  const shown = list.items.length;
  p.append(muted(list.total !== undefined ? `${shown} shown of ${list.total}` : `${shown} shown`));
  if (params.has('cursor')) {
    const first = new URLSearchParams(params);
    first.delete('cursor');
    p.append(link(location.pathname + (first.toString() ? '?' + first : ''), '« First page', { class: 'first' }));
  }
  if (list.next_cursor) {
    const next = new URLSearchParams(params);
    next.set('cursor', list.next_cursor);
    p.append(link(location.pathname + '?' + next, 'Next page »', { class: 'next', rel: 'next' }));
  }
  return p;
}

// filterForm is a GET form over the page's own URL: submitting it navigates to the filtered
// URL (empty fields left out), so filters are always in the address bar.
function filterForm(fields, params) {
  const f = el('form', { class: 'filters', role: 'search', method: 'get', action: location.pathname });
  for (const fd of fields) {
    const id = 'f-' + fd.name;
    let input;
    if (fd.options) {
      input = el('select', { id, name: fd.name }, fd.options.map(([v, t]) => el('option', { value: v, selected: (params.get(fd.name) || '') === v }, t)));
    } else {
      input = el('input', { id, name: fd.name, type: fd.type || 'search', value: params.get(fd.name) || '', placeholder: fd.placeholder || '', autocomplete: 'off' });
    }
    f.append(el('label', { for: id }, fd.label, input));
  }
  f.append(el('button', { type: 'submit' }, 'Apply'));
  if ([...params.keys()].length > 0) f.append(link(location.pathname, 'Clear', { class: 'clear' }));
  return f;
}

// ---------- pages ----------

async function overviewPage() {
  const count = (path) => api(path).then((l) => l.total, () => null);
  const [canisters, tokens, miners, outcalls, builds, verified, blackholed, status] = await Promise.all([
    count('/canisters?limit=1'), count('/tokens?limit=1'), count('/miners?limit=1'), count('/notifications?limit=1'),
    count('/module-hashes?limit=1'), count('/canisters?limit=1&badge=verified'), count('/canisters?limit=1&badge=blackholed'),
    api('/system/status').catch(() => null),
  ]);
  const card = (label, n, href) => el('a', { class: 'card', href }, el('span', { class: 'count' }, n === null ? '?' : groupDigits(String(n))), el('span', {}, label));
  const cards = el('div', { class: 'cards' },
    card('canisters', canisters, '/ui/canisters'), card('tokens', tokens, '/ui/tokens'), card('miners', miners, '/ui/miners'),
    card('outcalls', outcalls, '/ui/outcalls'), card('known builds', builds, '/ui/module-hashes'),
    card('verified', verified, '/ui/canisters?badge=verified'), card('blackholed', blackholed, '/ui/canisters?badge=blackholed'));
  const lastSweep = status && status.refresh ? status.refresh.last_attempt_at : null;
  const lastSuccess = status && status.refresh ? status.refresh.last_success_at : null;
  const procs = status ? table([
    { label: 'process', cell: (p) => p.name },
    { label: 'state', cell: (p) => el('span', { class: p.alive ? 'ok' : 'bad' }, p.alive ? `alive (${p.alive_instances})` : 'not alive') },
    { label: 'last heartbeat', cell: (p) => (p.heartbeat_at ? [formatTime(p.heartbeat_at), muted(` (${p.heartbeat_age_seconds} s ago)`)] : muted('never')) },
    { label: 'version', cell: (p) => p.version || '' },
  ], status.processes) : el('p', { class: 'error' }, 'GET /system/status failed');
  const list = el('ol', { class: 'ticker', id: 'ticker', 'aria-live': 'polite' });
  const state = el('span', { class: 'muted', id: 'ticker-state' }, 'connecting…');
  startTicker(list, state);
  return [
    el('h1', {}, 'Overview'), cards,
    section('Processes', status ? el('p', {}, status.all_alive ? el('span', { class: 'ok' }, 'All processes alive') : el('span', { class: 'bad' }, 'Not all processes are alive'),
      ' · version ', code(status.version)) : null, procs,
      el('p', {}, 'Latest refresh attempt: ', formatTime(lastSweep) || muted('none yet'),
        ' · latest success: ', formatTime(lastSuccess) || muted('none yet'))),
    section('Live events', el('p', {}, state), list),
  ];
}

// startTicker shows /ws events newest first, through the WebSocket client module that the
// notifier serves beside /ws (/ws/client.js, on this origin by the api's proxy): the last 20
// logged events, then live; after a dropped connection it resumes from the last cursor it
// delivered (no gap, no duplicate, with jittered backoff); replay.reset clears the list.
function startTicker(list, state) {
  const gen = generation;
  const show = (e) => {
    list.prepend(tickerItem(e));
    while (list.children.length > 50) list.lastChild.remove();
  };
  const states = { connecting: 'connecting…', open: 'live', reconnecting: 'reconnecting…', closed: 'closed' };
  import('/ws/client.js').then(({ connect }) => {
    if (gen !== generation) return; // left the overview meanwhile
    ticker = connect('/ws', {
      last: 20,
      onEvent: show,
      onGap: show,
      onReset: (e) => { list.replaceChildren(); show(e); },
      onState: (s) => { state.textContent = states[s] || s; },
    });
  }, () => {
    if (gen === generation) state.textContent = 'live events unavailable: the notifier cannot be reached';
  });
}

function tickerItem(e) {
  const d = e.data || {};
  const when = e.timestamp ? new Date(e.timestamp).toISOString() : null;
  const who = e.miner_id || d.canister_id || d.miner_id;
  return el('li', { 'data-id': e.id },
    el('span', { class: 'ev' }, e.event), ' ',
    who ? canisterLink(who, e.miner_id ? 'miner' : d.kind) : null, ' ',
    d.token_id ? ['token ', canisterLink(d.token_id, 'token')] : null, ' ',
    e.notification_id ? link('/ui/outcalls/' + e.notification_id, 'outcall #' + e.notification_id) : null, ' ',
    when ? formatTime(when) : null);
}

async function canistersPage(params) {
  const list = await api(apiQuery('/canisters', params, ['q', 'kind', 'tag', 'verified', 'stale', 'badge', 'order', 'limit', 'cursor']));
  return [
    el('h1', {}, 'Canisters'),
    filterForm([
      { name: 'q', label: 'Search', placeholder: 'id or name' },
      { name: 'kind', label: 'Kind', options: [['', 'any'], ['token', 'token'], ['miner', 'miner'], ['wallet', 'wallet'], ['other', 'other']] },
      { name: 'tag', label: 'Tag' },
      { name: 'badge', label: 'Badge', options: [['', 'any'], ['verified', 'verified'], ['blackholed', 'blackholed'], ['immutable', 'immutable'], ['controller_changed', 'controller changed'],
        ['icrc2', 'icrc2'], ['icrc3', 'icrc3'], ['indexed', 'indexed'], ['privileged', 'privileged']] },
      { name: 'verified', label: 'Verified', options: [['', 'any'], ['true', 'yes'], ['false', 'no']] },
      { name: 'stale', label: 'Stale', options: [['', 'any'], ['true', 'stale'], ['false', 'fresh']] },
    ], params),
    table([
      { label: 'canister', cell: (c) => [canisterLink(c.canister_id, 'other', c.name || null), c.name ? el('div', { class: 'id muted' }, c.canister_id) : null] },
      { label: 'kind', cell: (c) => c.kind },
      { label: 'badges', cell: (c) => badges(c.badges) },
      { label: 'module hash', cell: (c) => shortHash(c.module_hash), cls: 'wide' },
      { label: 'last success', cell: (c) => [formatTime(c.last_success_at) || muted('never'), c.stale ? el('span', { class: 'bad' }, ' stale') : null] },
    ], list.items, emptyHint(params, 'No canister matches.', 'No canister is registered yet. Register one (the poller reads it at its next sweep):', REGISTER_HINT, demoHint())),
    pager(list, params),
  ];
}

async function canisterPage(params, id) {
  const { from, to, picker } = timeRange(params);
  const [c, hist, cycles] = await Promise.all([api('/canisters/' + id),
    api(apiQuery('/canisters/' + id + '/history', params, ['cursor'], { limit: '100' })),
    series(`/canisters/${id}/cycles?from=${from.toISOString()}&to=${to.toISOString()}`)]);
  const builds = await knownBuilds(hist.items.filter((h) => h.field === 'module_hash').flatMap((h) => [h.old, h.new]).concat([c.module_hash]));
  const more = c.kind === 'token' ? link('/ui/tokens/' + id, 'token data »') : c.kind === 'miner' ? link('/ui/miners/' + id, 'miner data and charts »')
    : c.kind === 'wallet' ? link('/ui/wallets/' + id, 'balances and charts »') : null;
  return [
    el('h1', {}, c.name || 'Canister', ' ', el('span', { class: 'id' }, c.canister_id)),
    el('p', {}, badges(c.badges), ' ', more),
    section('Identity', dl([
      ['kind', c.kind], ['description', c.description], ['tags', c.tags.join(', ')],
      ['module hash', c.module_hash ? el('code', { class: 'hash' }, c.module_hash) : null],
      ['build', c.build ? buildRef(c.build) : muted('not a known build')],
      ['controllers', c.controllers.length ? el('ul', { class: 'plain' }, c.controllers.map((p) => el('li', {}, code(p)))) : muted('none')],
      ['created on the IC', formatTime(c.canister_created_at) || muted('not certified')],
      ['last installed', formatTime(c.last_installed_at) || muted('not certified')],
      ['immutable since', c.immutable_since ? [formatTime(c.immutable_since), ' ',
        muted(c.immutable_basis === 'certified_install' ? '(certified last install)' : '(first observed)')] : null],
      ['controllers changed', formatTime(c.controllers_changed_at)],
      ['badges last changed', formatTime(c.badges_computed_at)],
    ])),
    section('Refresh', dl([
      ['last attempt', formatTime(c.last_attempt_at)], ['last success', formatTime(c.last_success_at)],
      ['last error', c.last_error ? el('span', { class: 'bad' }, c.last_error) : null],
      ['consecutive failures', String(c.consecutive_failures)], ['stale', c.stale ? el('span', { class: 'bad' }, 'yes') : 'no'],
    ])),
    cycles.length ? cyclesSection(cycles, from, to, picker) : null,
    section('History', timeline(hist.items, builds), pager(hist, params)),
  ];
}

// cyclesSection shows the cycles the poller read (from the public status, the blackhole or the
// SNS root: the latest point's source says which): the latest balance, memory, idle burn and
// runway, and their charts.
function cyclesSection(items, from, to, picker) {
  const last = items[items.length - 1];
  return section('Cycles and memory', el('p', { class: 'muted cycles-source' }, CYCLES_SOURCE[last.source] || last.source),
    dl([['cycles', el('span', { class: 'num cycles' }, formatNat(last.cycles))], ['memory', formatNat(last.memory_size) + ' bytes'],
      ['idle burn', last.idle_cycles_per_day ? formatNat(last.idle_cycles_per_day) + ' cycles/day' : null],
      ['runway', last.runway_days ? formatNat(last.runway_days) + ' days at the idle rate' : null], ['status', last.status],
      ['observed', formatTime(last.observed_at)]]),
    picker,
    timeChart('Cycles', 'chart-cycles', items, 'cycles', 'cycles', from.getTime(), to.getTime()),
    timeChart('Memory', 'chart-memory', items, 'memory_size', 'bytes', from.getTime(), to.getTime()));
}

// knownBuilds looks up which of hashes are known builds: hash → module hash record.
async function knownBuilds(hashes) {
  const out = {};
  const uniq = [...new Set(hashes.filter((h) => typeof h === 'string' && h.length === 64))].slice(0, 20);
  await Promise.all(uniq.map((h) => api('/module-hashes?limit=1&q=' + h).then((l) => {
    if (l.items.length && l.items[0].hash === h) out[h] = l.items[0];
  }, () => {})));
  return out;
}

function buildRef(b) {
  const text = b.name + (b.version ? ' ' + b.version : '');
  return b.source_url ? link(b.source_url, text, { rel: 'noopener' }) : text;
}

function timeline(items, builds) {
  if (items.length === 0) return el('p', { class: 'muted' }, 'No change observed yet.');
  const val = (field, v) => {
    if (field === 'controllers') return v.length ? v.map((p) => code(p)).flatMap((x, i) => (i ? [', ', x] : [x])) : muted('none');
    if (field === 'install') return v ? formatTime(v) : muted('none seen');
    if (!v) return muted('no module');
    const b = builds[v];
    return [shortHash(v), b ? [' ', link('/ui/module-hashes?q=' + v, b.name + (b.version ? ' ' + b.version : ''), { class: 'build' })] : ''];
  };
  return el('ol', { class: 'timeline' }, items.map((h) => el('li', {},
    el('div', { class: 'when' }, formatTime(h.observed_at)),
    el('div', {}, el('strong', {}, { module_hash: 'module hash', install: 'code installed' }[h.field] || h.field), ': ',
      val(h.field, h.old), ' → ', val(h.field, h.new)))));
}

async function tokensPage(params) {
  const list = await api(apiQuery('/tokens', params, ['q', 'stale', 'order', 'limit', 'cursor']));
  return [
    el('h1', {}, 'Tokens'),
    filterForm([{ name: 'q', label: 'Search', placeholder: 'id, name or symbol' },
      { name: 'stale', label: 'Stale', options: [['', 'any'], ['true', 'stale'], ['false', 'fresh']] }], params),
    table([
      { label: '', cell: (t) => logo(t), cls: 'logo-cell' },
      { label: 'token', cell: (t) => [link('/ui/tokens/' + t.canister_id, t.name || t.registered_name || t.canister_id), ' ', muted(t.symbol)] },
      { label: 'total supply', cell: (t) => el('span', { class: 'num supply' }, breakable(formatUnits(t.total_supply, t.decimals)) || '—'), cls: 'num' },
      { label: 'fee', cell: (t) => el('span', { class: 'num' }, formatUnits(t.fee, t.decimals) || '—'), cls: 'num' },
      { label: 'PoW height', cell: (t) => (t.pow ? formatNat(t.pow.block_height) : '—'), cls: 'num wide' },
    ], list.items, emptyHint(params, 'No token matches.', 'No token yet: register a ledger canister with kind "token".', REGISTER_HINT, demoHint())),
    pager(list, params),
  ];
}

function logo(t) {
  return t.logo ? el('img', { class: 'logo', src: t.logo, alt: (t.symbol || 'token') + ' logo', width: 32, height: 32, loading: 'lazy' }) : el('span', { class: 'logo none', 'aria-hidden': 'true' });
}

async function tokenPage(params, id) {
  const [t, miners] = await Promise.all([api('/tokens/' + id), api('/miners/by-token/' + id + '?limit=100').catch(() => ({ items: [] }))]);
  const u = (v) => formatUnits(v, t.decimals);
  const p = t.pow;
  const mining = await miningSection(id, params, t);
  followMining(id, params, t); // live: re-reads the section at each solution of the token
  return [
    el('h1', {}, logo(t), ' ', t.name || t.registered_name || 'Token', ' ', muted(t.symbol)),
    el('p', {}, link('/ui/canisters/' + id, 'canister, badges and history »')),
    section('Ledger', dl([
      ['canister', code(t.canister_id)], ['decimals', String(t.decimals)],
      ['total supply', t.total_supply ? el('span', { class: 'num supply' }, breakable(u(t.total_supply)), ' ', t.symbol) : null],
      ['fee', t.fee ? el('span', { class: 'num fee' }, u(t.fee), ' ', t.symbol) : null],
      ['minting account', t.minting_account ? code(t.minting_account) : null],
      ['standards', t.supported_standards.map((s) => s.name).join(', ')],
      ['index canister', t.index_id ? link('/ui/canisters/' + t.index_id, t.index_id, { class: 'id index-link' }) : null],
      ['block log', t.block_log ? 'ICRC-3' : null],
      ['interfaces', t.interfaces.join(', ')], ['updated', formatTime(t.updated_at)],
    ])),
    p ? section('Proof of work', dl([
      ['ledger', p.ledger_id ? canisterLink(p.ledger_id, 'token') : null], ['block height', formatNat(p.block_height)],
      ['block reward', p.block_reward ? u(p.block_reward) + ' ' + t.symbol : null],
      ['circulating supply', p.circulating_supply ? u(p.circulating_supply) + ' ' + t.symbol : null],
      ['average block time', p.average_block_time === null ? null : p.average_block_time + ' s'],
      ['mining progress', p.mining_progress_percent ? p.mining_progress_percent + ' %' : null],
    ])) : null,
    mining,
    section('Miners mining it', minerTable(miners.items, false)),
  ];
}

// minerTable lists miners: by name with the id under it (names need not be unique), and their
// token unless every row is of one token (withToken false).
function minerTable(items, withToken = true) {
  return table([
    { label: 'miner', cell: (m) => [link('/ui/miners/' + m.canister_id, m.registered_name || m.canister_id, { class: m.registered_name ? null : 'id' }),
      m.registered_name ? el('div', { class: 'id muted' }, m.canister_id) : null] },
    withToken ? { label: 'token', cell: (m) => (m.current_token ? canisterLink(m.current_token, 'token') : muted('none')) } : null,
    { label: 'mining', cell: (m) => (m.is_mining ? el('span', { class: 'ok' }, 'yes') : 'no') },
    { label: 'speed', cell: (m) => m.speed_percentage + ' %', cls: 'num' },
    { label: 'runway', cell: (m) => m.estimated_remaining_time || '—' },
  ].filter(Boolean), items, 'No miner.');
}

async function minersPage(params) {
  const list = await api(apiQuery('/miners', params, ['q', 'mining', 'stale', 'order', 'limit', 'cursor']));
  return [
    el('h1', {}, 'Miners'),
    filterForm([{ name: 'q', label: 'Search', placeholder: 'id or name' },
      { name: 'mining', label: 'Mining', options: [['', 'any'], ['true', 'yes'], ['false', 'no']] },
      { name: 'stale', label: 'Stale', options: [['', 'any'], ['true', 'stale'], ['false', 'fresh']] }], params),
    list.items.length ? minerTable(list.items) : emptyHint(params, minerTable([]), 'No miner yet: register a miner canister with kind "miner".', REGISTER_HINT, demoHint()),
    pager(list, params),
  ];
}

const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

// timeRange reads ?range= (default 24h) and returns it with its [from, to] ending now and the
// picker linking every range.
function timeRange(params) {
  const range = RANGES[params.get('range')] ? params.get('range') : '24h';
  const to = new Date();
  const from = new Date(to.getTime() - RANGES[range]);
  const picker = el('nav', { class: 'ranges', 'aria-label': 'time range' }, Object.keys(RANGES).map((r) =>
    link(location.pathname + '?range=' + r, r, { 'aria-current': r === range ? 'page' : null })));
  return { range, from, to, picker };
}

// series reads every page of a time series endpoint (path with from and to) up to 20,000 points.
async function series(path) {
  const out = [];
  let next = path + '&limit=500';
  for (let page = 0; page < 40 && next; page++) {
    const r = await api(next);
    out.push(...(r.series || []));
    next = r.next_cursor ? path + '&limit=500&cursor=' + encodeURIComponent(r.next_cursor) : null;
  }
  return out;
}

async function minerPage(params, id) {
  const { from, to, picker } = timeRange(params);
  const m = await api('/miners/' + id);
  const stats = await series(`/miners/${id}/stats?from=${from.toISOString()}&to=${to.toISOString()}`);
  return [
    el('h1', {}, m.registered_name || 'Miner', ' ', el('span', { class: 'id' }, m.canister_id)),
    el('p', {}, link('/ui/canisters/' + id, 'canister, badges and history »')),
    section('State', dl([
      ['current token', m.current_token ? canisterLink(m.current_token, 'token') : muted('none')],
      ['mining', m.is_mining ? el('span', { class: 'ok' }, 'yes') : 'no'], ['speed', m.speed_percentage + ' %'],
      ['chunk size', formatNat(m.chunk_size)], ['chunks per refresh', formatNat(m.chunks_per_refresh)],
      ['cycle balance', m.cycle_balance ? formatNat(m.cycle_balance) + ' cycles' : null],
      ['cycles per hour', m.cycle_usage_per_hour === null ? null : String(m.cycle_usage_per_hour)],
      ['runway', m.estimated_remaining_time], ['updated', formatTime(m.updated_at)],
    ])),
    section('Charts', picker,
      timeChart('Hash rate', 'chart-hash-rate', stats, 'hash_rate', 'hashrate', from.getTime(), to.getTime()),
      timeChart('Blocks mined', 'chart-blocks', stats, 'blocks_mined', 'count', from.getTime(), to.getTime())),
    await minerMining(id, from, to),
  ];
}

async function outcallsPage(params) {
  const list = await api(apiQuery('/notifications', params, ['miner', 'event', 'token', 'from', 'to', 'order', 'limit', 'cursor']));
  return [
    el('h1', {}, 'Outcall log'),
    filterForm([
      { name: 'miner', label: 'Miner', placeholder: 'miner id' }, { name: 'event', label: 'Event', placeholder: 'solution_found' },
      { name: 'token', label: 'Token', placeholder: 'token id' },
      { name: 'from', label: 'From', type: 'text', placeholder: '2025-01-02T15:04:05Z' }, { name: 'to', label: 'To', type: 'text', placeholder: 'RFC 3339' },
    ], params),
    table([
      { label: '#', cell: (n) => link('/ui/outcalls/' + n.id, String(n.id)), cls: 'num' },
      { label: 'received', cell: (n) => formatTime(n.received_at) },
      { label: 'event', cell: (n) => el('span', { class: 'ev' }, n.event) },
      { label: 'miner', cell: (n) => canisterLink(n.miner_id, 'miner') },
      { label: 'token', cell: (n) => (typeof n.data.token_id === 'string' ? canisterLink(n.data.token_id, 'token') : '—') },
      { label: 'copies', cell: (n) => [String(n.copies), n.diverged ? el('span', { class: 'bad' }, ' diverged') : ''], cls: 'num' },
      { label: 'reply', cell: (n) => String(n.response_status), cls: 'num' },
    ], list.items, emptyHint(params, 'No outcall matches.', 'No outcall received yet. Miner canisters send them to this origin with a key of NOTIFY_API_KEYS:',
      `curl -X POST ${location.origin}/miner-notifications -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \\
  -d '{"event":"mining_started","miner_id":"rrkah-fqaaa-aaaaa-aaaaq-cai","timestamp":1733540000000000000,"data":{}}'`, demoHint())),
    pager(list, params),
  ];
}

async function outcallPage(params, id) {
  const n = await api('/notifications/' + id);
  let reply = n.response_body;
  try { reply = JSON.stringify(JSON.parse(reply), null, 2); } catch (e) { /* shown as stored */ }
  return [
    el('h1', {}, 'Outcall #' + n.id, ' ', el('span', { class: 'ev' }, n.event)),
    section('Delivery', dl([
      ['miner', canisterLink(n.miner_id, 'miner')], ['IC timestamp (ns)', code(n.ic_timestamp)], ['received', formatTime(n.received_at)],
      ['copies seen', String(n.copies)], ['diverged', n.diverged ? el('span', { class: 'bad' }, 'yes: a copy differed from the first') : 'no'],
      ['dedup key', code(n.dedup_key)], ['body hash', el('code', { class: 'hash' }, n.body_hash)],
    ])),
    section('Data', el('pre', {}, JSON.stringify(n.data, null, 2))),
    section('Stored reply (' + n.response_status + ')', el('pre', { class: 'reply' }, reply)),
  ];
}

async function buildsPage(params) {
  const list = await api(apiQuery('/module-hashes', params, ['q', 'kind', 'order', 'limit', 'cursor']));
  return [
    el('h1', {}, 'Known builds'),
    el('p', { class: 'muted' }, 'A canister whose module hash is listed here is verified. Admins correct entries with PUT and DELETE /module-hashes/{hash}.'),
    filterForm([{ name: 'q', label: 'Search', placeholder: 'hash or name' },
      { name: 'kind', label: 'Kind', options: [['', 'any'], ['token', 'token'], ['miner', 'miner'], ['wallet', 'wallet'], ['other', 'other']] }], params),
    table([
      { label: 'build', cell: (b) => [buildRef(b), b.kind ? [' ', muted(b.kind)] : ''] },
      { label: 'hash', cell: (b) => el('code', { class: 'hash' }, b.hash), cls: 'wide' },
      { label: 'canisters', cell: (b) => String(b.canisters), cls: 'num' },
      { label: 'added', cell: (b) => formatTime(b.created_at) },
    ], list.items, 'No known build matches.'),
    pager(list, params),
  ];
}

// ---------- routing ----------

const routes = [
  [/^\/$/, overviewPage, 'Overview'],
  [/^\/ui\/canisters\/?$/, canistersPage, 'Canisters'],
  [/^\/ui\/canisters\/([a-z0-9-]+)$/, canisterPage, 'Canister'],
  [/^\/ui\/tokens\/?$/, tokensPage, 'Tokens'],
  [/^\/ui\/tokens\/([a-z0-9-]+)$/, tokenPage, 'Token'],
  [/^\/ui\/miners\/?$/, minersPage, 'Miners'],
  [/^\/ui\/miners\/([a-z0-9-]+)$/, minerPage, 'Miner'],
  [/^\/ui\/outcalls\/?$/, outcallsPage, 'Outcalls'],
  [/^\/ui\/outcalls\/([0-9]+)$/, outcallPage, 'Outcall'],
  [/^\/ui\/module-hashes\/?$/, buildsPage, 'Builds'],
  [/^\/ui\/wallets\/?$/, walletsPage, 'Wallets'], // wallets.js
  [/^\/ui\/wallets\/([a-z0-9-]+)$/, walletPage, 'Wallet'],
  [/^\/ui\/discovery\/?$/, discoveryPage, 'Discovery'],
];

async function render() {
  const gen = ++generation;
  if (ticker) { const t = ticker; ticker = null; t.close(); }
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const route = routes.find(([re]) => re.test(path));
  for (const a of document.querySelectorAll('header nav a')) {
    const href = a.getAttribute('href');
    const on = href === '/' ? path === '/' : path.startsWith(href);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  main.setAttribute('aria-busy', 'true');
  let content;
  if (!route) {
    content = [el('h1', {}, 'Not found'), el('p', {}, 'No page at ', code(path), '. ', link('/', 'Overview'))];
  } else {
    try {
      content = await route[1](params, ...(route[0].exec(path).slice(1)));
      document.title = route[2] + ' · canistry';
    } catch (err) {
      content = [el('h1', {}, route[2]), el('p', { class: 'error', role: 'alert' }, err.message)];
    }
  }
  if (gen !== generation) return;
  main.replaceChildren(...[content].flat().filter(Boolean));
  main.removeAttribute('aria-busy');
  main.setAttribute('data-page', route ? route[2] : 'none');
}

function navigate(url) {
  history.pushState(null, '', url);
  render().then(() => main.focus({ preventScroll: true }));
  window.scrollTo(0, 0);
}

const ours = (u) => u.origin === location.origin && (u.pathname === '/' || u.pathname.startsWith('/ui/'));

document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const u = new URL(a.href);
  if (!ours(u)) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
});

document.addEventListener('submit', (e) => {
  const f = e.target;
  if (!f.classList.contains('filters')) return;
  e.preventDefault();
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(f)) if (String(v).trim() !== '') q.set(k, String(v).trim());
  navigate(location.pathname + (q.toString() ? '?' + q : ''));
});

window.addEventListener('popstate', render);
render();
