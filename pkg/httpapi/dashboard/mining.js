// canistry dashboard: mining analytics (issue 27) on the token and miner pages, from
// GET /tokens/{id}/mining, /mining/series and /solutions, as reported by the miners'
// solution_found outcalls. Loaded after charts.js and before app.js, whose helpers (el, api,
// section, dl, table, formatTime, …) it uses when a page renders.
'use strict';

// SERIES_STEP is the bucket width of each range of the picker (at most 1,000 buckets).
const SERIES_STEP = { '1h': '1m', '24h': '15m', '7d': '1h', '30d': '6h' };

const AS_REPORTED = 'As reported by the miners\u2019 solution_found outcalls (copies and repeated block heights counted once).';

const percent = (share) => (share * 100).toFixed(1) + ' %';

function seconds(v) {
  if (v === null || v === undefined) return null;
  return v < 120 ? twoDigits.format(v) + ' s' : humanSpan(v * 1000) + ' (' + twoDigits.format(v) + ' s)';
}

function hashRate(v) {
  if (v === null || v === undefined) return null;
  const s = scaled(v, [[1e9, ' G'], [1e6, ' M'], [1e3, ' k']]);
  return s + (/[0-9]$/.test(s) ? ' H/s' : 'H/s');
}

// shareBar is a leaderboard share: a bar whose width is the share, and the share in words.
function shareBar(share) {
  const bar = el('span', { class: 'share-bar', 'aria-hidden': 'true' });
  bar.append(el('span', { class: 'share-fill', style: null }));
  bar.firstChild.style.width = Math.max(0, Math.min(100, share * 100)).toFixed(1) + '%'; // CSSOM: allowed by the CSP
  return el('span', { class: 'share' }, bar, el('span', { class: 'share-text' }, percent(share)));
}

function leaderboard(m) {
  return table([
    { label: '#', cell: (r) => String(m.miners.indexOf(r) + 1), cls: 'num' },
    { label: 'miner', cell: (r) => link('/ui/miners/' + r.miner_id, r.name || r.miner_id, { class: r.name ? null : 'id' }) },
    { label: 'solutions', cell: (r) => groupDigits(String(r.solutions)), cls: 'num' },
    { label: 'share', cell: (r) => shareBar(r.share) },
    { label: 'last solution', cell: (r) => formatTime(r.last_solution_at), cls: 'wide' },
    { label: 'hash rate', cell: (r) => hashRate(r.hash_rate) || muted('—'), cls: 'num' },
  ], m.miners, 'No solution in this range.');
}

function latestSolutions(list, t) {
  return table([
    { label: 'block', cell: (s) => [formatNat(s.block_height), s.repeat ? el('span', { class: 'bad', title: 'repeats a block height already stored: not counted' }, ' repeat') : ''], cls: 'num' },
    { label: 'miner', cell: (s) => canisterLink(s.miner_id, 'miner') },
    { label: 'difficulty', cell: (s) => el('span', { class: 'num' }, breakable(formatNat(s.difficulty)) || '—'), cls: 'num' },
    { label: 'reward', cell: (s) => (s.reward ? formatUnits(s.reward, t.decimals) + ' ' + (t.symbol || '') : '—'), cls: 'num wide' },
    { label: 'received', cell: (s) => link('/ui/outcalls/' + s.notification_id, formatTime(s.received_at)) },
  ], list.items, 'No solution stored yet.');
}

// miningSection is the token page's mining analytics over the picked range, live: every
// solution_found of the token on /ws re-reads it (the notifier counts a solution before it
// sends its event).
async function miningSection(id, params, t) {
  const { range, from, to, picker } = timeRange(params);
  const q = `from=${from.toISOString()}&to=${to.toISOString()}`;
  let m, s, sols;
  try {
    [m, s, sols] = await Promise.all([api(`/tokens/${id}/mining?${q}`), api(`/tokens/${id}/mining/series?${q}&step=${SERIES_STEP[range]}`),
      api(`/tokens/${id}/solutions?limit=10`)]);
  } catch (err) {
    return section('Mining', el('p', { class: 'muted' }, 'No mining data: ' + err.message));
  }
  const items = s.buckets.map((b) => Object.assign({ observed_at: b.start }, b));
  const lo = Date.parse(s.from), hi = Math.min(Date.parse(s.to), to.getTime());
  const empty = 'No solution in the last ' + humanSpan(to - from) + '.';
  const d = m.difficulty;
  return el('section', { id: 'mining', 'data-solutions': m.solutions }, el('h2', {}, 'Mining'),
    el('p', { class: 'muted' }, AS_REPORTED, ' ', el('span', { id: 'mining-live' }, '')),
    picker,
    dl([
      ['solutions', el('span', { id: 'mining-solutions' }, groupDigits(String(m.solutions)))],
      ['blocks per hour', m.blocks_per_hour === null ? null : twoDigits.format(m.blocks_per_hour)],
      ['average block time', seconds(m.average_block_time_seconds)],
      ['difficulty', d.last ? [breakable(formatNat(d.last)), muted(' (range ' + formatNat(d.min) + ' – ' + formatNat(d.max) + ')')] : null],
      ['reward', m.reward.last ? formatUnits(m.reward.last, t.decimals) + ' ' + (t.symbol || '') : null],
      ['network hash rate', hashRate(m.network_hash_rate)],
      ['miners', String(m.miner_count)],
    ]),
    el('h3', {}, 'Leaderboard'), el('div', { id: 'leaderboard' }, leaderboard(m)),
    timeChart('Solutions', 'chart-solutions', items, 'solutions', 'solutions', lo, hi, empty),
    timeChart('Difficulty (highest per bucket)', 'chart-difficulty', items, 'difficulty_max', 'difficulty', lo, hi, empty),
    timeChart('Average block time', 'chart-block-time', items, 'average_block_time_seconds', 'seconds', lo, hi, empty),
    timeChart('Network hash rate', 'chart-network-hash-rate', items, 'network_hash_rate', 'hashrate', lo, hi, 'No hash rate reported in this range.'),
    el('h3', {}, 'Latest solutions'), el('div', { id: 'latest-solutions' }, latestSolutions(sols, t)));
}

// followMining re-renders the mining section at each solution_found of token id on /ws
// (debounced), until the page is left (app.js closes ticker at every render).
function followMining(id, params, t) {
  const gen = generation;
  let timer = null;
  const refresh = () => {
    timer = null;
    miningSection(id, params, t).then((fresh) => {
      const old = document.getElementById('mining');
      if (gen !== generation || !old) return;
      old.replaceWith(fresh);
      setLive('live');
    });
  };
  const setLive = (s) => {
    const e = document.getElementById('mining-live');
    if (e) e.textContent = s === 'live' ? 'Live.' : s === 'reconnecting' ? 'Reconnecting…' : '';
  };
  import('/ws/client.js').then(({ connect }) => {
    if (gen !== generation) return;
    ticker = connect('/ws?events=solution_found&token=' + encodeURIComponent(id), {
      onEvent: () => { if (!timer) timer = setTimeout(refresh, 250); },
      onState: (s) => setLive(s === 'open' ? 'live' : s),
    });
  }, () => {});
}

// minerMining is the miner page's solutions and its share of each token it mined in the range.
async function minerMining(id, from, to) {
  const q = `from=${from.toISOString()}&to=${to.toISOString()}`;
  const outcalls = await api(`/notifications?miner=${id}&event=solution_found&limit=100`).catch(() => ({ items: [] }));
  const tokens = [...new Set(outcalls.items.map((n) => n.data && n.data.token_id).filter((x) => typeof x === 'string'))].slice(0, 10);
  const rows = await Promise.all(tokens.map((tok) => api(`/tokens/${tok}/mining?${q}`).then((m) => {
    const me = m.miners.find((r) => r.miner_id === id);
    return { token: tok, total: m.solutions, mine: me ? me.solutions : 0, share: me ? me.share : 0 };
  }, () => null)));
  const shares = rows.filter((r) => r && r.total > 0);
  const sols = tokens.length ? await Promise.all(tokens.map((tok) => api(`/tokens/${tok}/solutions?miner=${id}&limit=10`).catch(() => ({ items: [] })))) : [];
  const latest = sols.flatMap((l) => l.items).sort((a, b) => b.notification_id - a.notification_id).slice(0, 10);
  return el('section', { id: 'miner-mining' }, el('h2', {}, 'Solutions'), el('p', { class: 'muted' }, AS_REPORTED),
    el('div', { id: 'miner-shares' }, table([
      { label: 'token', cell: (r) => canisterLink(r.token, 'token') },
      { label: 'its solutions', cell: (r) => groupDigits(String(r.mine)), cls: 'num' },
      { label: 'of', cell: (r) => groupDigits(String(r.total)), cls: 'num' },
      { label: 'share', cell: (r) => shareBar(r.share) },
    ], shares, 'No solution in this range.')),
    el('h3', {}, 'Its latest solutions'),
    table([
      { label: 'block', cell: (s) => [formatNat(s.block_height), s.repeat ? el('span', { class: 'bad' }, ' repeat') : ''], cls: 'num' },
      { label: 'difficulty', cell: (s) => el('span', { class: 'num' }, breakable(formatNat(s.difficulty)) || '—'), cls: 'num' },
      { label: 'received', cell: (s) => link('/ui/outcalls/' + s.notification_id, formatTime(s.received_at)) },
    ], latest, 'No solution stored yet.'));
}
