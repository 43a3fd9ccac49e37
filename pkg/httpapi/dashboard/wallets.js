// canistry dashboard: the wallet pages (/ui/wallets, /ui/wallets/<id>) and the SNS discovery
// runs (/ui/discovery). Loaded after charts.js and before app.js, whose helpers (el, api,
// table, pager, formatUnits, timeRange, series …) it uses when a page renders and whose routes
// list these pages. A balance is exact: the stored nat moved by the ledger's decimals, never
// converted to a float; the charts draw a float, their read-out shows the exact amount.
'use strict';

// balanceText writes a balance as "1,234.5 ICP" (exact), or the raw nat when the ledger's
// decimals are not known yet.
function balanceText(b) {
  const sym = b.symbol || 'units';
  return b.decimals === null ? formatNat(b.amount) + ' ' + sym + ' (smallest unit)' : formatUnits(b.amount, b.decimals) + ' ' + sym;
}

async function walletsPage(params) {
  const list = await api(apiQuery('/wallets', params, ['q', 'tag', 'limit', 'cursor']));
  return [
    el('h1', {}, 'Wallets'),
    filterForm([{ name: 'q', label: 'Search', placeholder: 'id or name' }, { name: 'tag', label: 'Tag', placeholder: 'tag' }], params),
    table([
      { label: 'wallet', cell: (w) => link('/ui/wallets/' + w.canister.canister_id, w.canister.name || w.canister.canister_id, { class: w.canister.name ? null : 'id' }) },
      { label: 'balances', cell: (w) => (w.balances.length ? el('ul', { class: 'plain' }, w.balances.map((b) => el('li', { class: 'balance' }, balanceText(b)))) : muted('not read yet')) },
      { label: 'updated', cell: (w) => formatTime(w.balances.reduce((t, b) => (b.updated_at > t ? b.updated_at : t), '')) },
    ], list.items, emptyHint(params, 'No wallet matches.', 'No wallet is registered yet. Register one:',
      REGISTER_HINT.replace('"kind":"token"', '"kind":"wallet"'))),
    pager(list, params),
  ];
}

// balanceData turns one ledger's change points into chart columns: a point per change, drawn
// as steps, and one more at the window's end carrying the last balance, so the line reaches
// now. Values are drawn in whole tokens; the read-out is exact.
function balanceData(points, b, to) {
  const d = b.decimals === null ? 0 : b.decimals;
  const xs = [], ys = [], exact = [];
  for (const p of points) {
    xs.push(Date.parse(p.observed_at) / 1000); ys.push(Number(p.amount) / 10 ** d); exact.push(formatUnits(p.amount, d));
  }
  if (xs.length && to / 1000 > xs[xs.length - 1]) {
    xs.push(to / 1000); ys.push(ys[ys.length - 1]); exact.push(exact[exact.length - 1]);
  }
  return { xs, ys, exact, count: points.length };
}

// balanceChart draws one ledger's balance over [from, to] (ms) with the dashboard's chart
// options (charts.js), as steps: a balance holds until it changes.
function balanceChart(b, points, from, to, index) {
  const title = (b.symbol || b.ledger_id) + ' balance';
  const id = 'chart-balance-' + index;
  const data = balanceData(points, b, to);
  const fig = el('figure', { class: 'tchart', id, 'data-points': data.count, 'data-ledger': b.ledger_id });
  if (data.count === 0) {
    fig.append(el('figcaption', {}, title), el('p', { class: 'muted empty' }, `No change in the last ${humanSpan(to - from)}: the balance held at ${balanceText(b)}.`));
    return fig;
  }
  const { range, caption } = xRange(data.xs[0], data.count, from, to);
  const plot = el('div', { class: 'tchart-plot' });
  fig.append(el('figcaption', {}, title, ' ', el('span', { class: 'muted caption' }, caption.replace('point', 'change'))), plot);
  const units = { tick: (v) => scaled(v, [[1e9, ' B'], [1e6, ' M'], [1e3, ' k']]), unit: b.symbol || 'units' };
  fig.uplot = plotChart(plot, (width) => {
    const opts = chartOptions(title, units, data, range, width);
    opts.series[1].paths = uPlot.paths.stepped({ align: 1 });
    return opts;
  }, data);
  return fig;
}

async function walletPage(params, id) {
  const { from, to, picker } = timeRange(params);
  const [w, points] = await Promise.all([api('/wallets/' + id),
    series(`/wallets/${id}/balances?from=${from.toISOString()}&to=${to.toISOString()}`)]);
  const c = w.canister;
  return [
    el('h1', {}, c.name || 'Wallet', ' ', el('span', { class: 'id' }, c.canister_id)),
    el('p', {}, badges(c.badges), ' ', link('/ui/canisters/' + id, 'canister, badges and history »')),
    section('Balances', table([
      { label: 'ledger', cell: (b) => canisterLink(b.ledger_id, 'token', b.symbol) },
      { label: 'balance', cell: (b) => el('span', { class: 'balance', title: formatNat(b.amount) + ' in the smallest unit' }, breakable(balanceText(b))), cls: 'num' },
      { label: 'read', cell: (b) => formatTime(b.updated_at) },
    ], w.balances, 'No balance read yet: the poller reads one in every tracked ledger (every registered ICRC-1 token) at each sweep.')),
    w.balances.length ? section('Balances over time', picker,
      w.balances.map((b, i) => balanceChart(b, points.filter((p) => p.ledger_id === b.ledger_id), from.getTime(), to.getTime(), i))) : null,
  ];
}

async function discoveryPage(params) {
  const list = await api(apiQuery('/discover/sns', params, ['limit', 'cursor']));
  const n = (v) => el('span', { class: 'num' }, String(v));
  return [
    el('h1', {}, 'SNS discovery'),
    el('p', { class: 'muted' }, 'Every SNS DAO listed by SNS-W, registered with its root, governance, ledger, index, swap and archives (tag sns:<root id>). Runs daily and on ', code('POST /discover/sns'), '.'),
    table([
      { label: 'finished', cell: (r) => formatTime(r.finished_at) }, { label: 'trigger', cell: (r) => r.trigger },
      { label: 'DAOs', cell: (r) => n(r.daos), cls: 'num' }, { label: 'found', cell: (r) => n(r.found), cls: 'num' },
      { label: 'added', cell: (r) => n(r.added), cls: 'num' }, { label: 'updated', cell: (r) => n(r.updated), cls: 'num' },
      { label: 'kept', cell: (r) => n(r.kept), cls: 'num' }, { label: 'skipped', cell: (r) => n(r.skipped), cls: 'num' },
      { label: 'failed', cell: (r) => (r.failed ? el('span', { class: 'bad', title: r.errors.join('\n') }, String(r.failed)) : n(0)), cls: 'num' },
    ], list.items, 'No discovery has run yet.'),
    pager(list, params),
  ];
}
