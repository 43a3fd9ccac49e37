// canistry dashboard charts: every series chart (hash rate, blocks mined, cycles, memory) is a
// time-series chart drawn by uPlot, vendored under /ui/assets/vendor/ (make assets; README
// "Dashboard"). Loaded before app.js, whose groupDigits it uses; app.js calls timeChart.
'use strict';

// GAP_FACTOR is the gap rule: two consecutive observations more than GAP_FACTOR times the
// series' median spacing apart are not joined by a line (a null point goes between them), so
// a poller that was down shows as a gap, not as a straight line across the outage.
const GAP_FACTOR = 3;

// FIT_SLACK: when the first observation is later than this share of the chosen window after
// its start, the time axis starts at the data instead of at the window ("12 points in the
// last 14 min").
const FIT_SLACK = 0.1;

// UNITS says how each kind of series is written: tick labels on the value axis (short, with
// thousands separators) and the exact read-out of a hovered point (every digit, with unit).
const UNITS = {
  cycles: { tick: (v) => scaled(v, [[1e12, ' T'], [1e9, ' B'], [1e6, ' M']]), unit: 'cycles' },
  bytes: { tick: (v) => scaled(v, [[2 ** 30, ' GiB'], [2 ** 20, ' MiB'], [2 ** 10, ' KiB']]), unit: 'bytes' },
  hashrate: { tick: (v) => scaled(v, [[1e9, ' G'], [1e6, ' M']]), unit: 'hashes/s' },
  count: { tick: (v) => scaled(v, [[1e9, ' B'], [1e6, ' M']]), unit: 'blocks' },
  solutions: { tick: (v) => scaled(v, [[1e9, ' B'], [1e6, ' M']]), unit: 'solutions' },
  // A difficulty may exceed 2^64: the axis abbreviates (1.2e+21), the read-out has every digit.
  difficulty: { tick: (v) => (Math.abs(v) >= 1e15 ? v.toExponential(1) : scaled(v, [[1e12, ' T'], [1e9, ' B'], [1e6, ' M']])), unit: '', label: 'difficulty' },
  seconds: { tick: (v) => twoDigits.format(v), unit: 's', label: 'seconds' },
};

const twoDigits = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const exactNumber = new Intl.NumberFormat('en-US', { maximumFractionDigits: 20 });

// scaled writes v with thousands separators, in the largest step of steps ([size, suffix],
// largest first) that it reaches: 4500000000000 cycles → "4.5 T".
function scaled(v, steps) {
  for (const [size, suffix] of steps) if (Math.abs(v) >= size) return twoDigits.format(v / size) + suffix;
  return twoDigits.format(v);
}

// exactValue writes a stored value exactly: a decimal string (a nat of any size) digit for
// digit with separators, a JSON number with every digit it has.
function exactValue(v) {
  if (typeof v === 'string') return /^[0-9]+$/.test(v) ? groupDigits(v) : v;
  return exactNumber.format(v);
}

const pad2 = (n) => String(n).padStart(2, '0');

// localTime writes a Unix time in seconds as local "2026-12-07 04:12:05".
function localTime(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// humanSpan writes a duration in milliseconds as "40 s", "14 min", "23 h" or "6 days".
function humanSpan(ms) {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 90) return s + ' s';
  if (s < 90 * 60) return Math.round(s / 60) + ' min';
  if (s < 48 * 3600) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' days';
}

// chartData turns series items (any order) into uPlot's columns: times in seconds, the values
// as numbers for drawing and the stored values for the read-out, with a null point in every
// gap (GAP_FACTOR).
function chartData(items, key) {
  const pts = items.map((s) => ({ t: Date.parse(s.observed_at) / 1000, v: s[key] }))
    .filter((p) => Number.isFinite(p.t) && p.v !== null && p.v !== undefined).sort((a, b) => a.t - b.t);
  const steps = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
  const median = steps.length ? steps[Math.floor((steps.length - 1) / 2)] : 0;
  const xs = [], ys = [], exact = [];
  pts.forEach((p, i) => {
    if (i > 0 && steps.length >= 2 && p.t - pts[i - 1].t > GAP_FACTOR * median) {
      xs.push((p.t + pts[i - 1].t) / 2); ys.push(null); exact.push(null);
    }
    xs.push(p.t); ys.push(Number(p.v)); exact.push(p.v);
  });
  return { xs, ys, exact, count: pts.length };
}

// xRange is the time axis in seconds: the chosen window [from, to], or from the first point
// to the window's end when the data starts well inside it (at least a minute), with a small
// margin on the left so the first point is not on the edge; and the caption that says which.
function xRange(first, count, from, to) {
  const fitted = count > 0 && first * 1000 - from > (to - from) * FIT_SLACK;
  let lo = fitted ? first * 1000 : from;
  const hi = to;
  if (hi - lo < 60e3) lo = hi - 60e3;
  const n = count === 1 ? '1 point' : `${groupDigits(String(count))} points`;
  const caption = `${n} in the last ${humanSpan(hi - (fitted ? first * 1000 : from))}`;
  return { range: [(lo - (fitted ? (hi - lo) * 0.03 : 0)) / 1000, hi / 1000], caption };
}

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

// TIME_TICKS are the time axis labels in local 24-hour time (uPlot's fmtDate templates): tick
// step, label, then the second line where the year, month or day changes.
const TIME_TICKS = [
  [3600 * 24 * 365, '{YYYY}', null, null, null, null, null, null, 1],
  [3600 * 24 * 28, '{MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600 * 24, '{MMM} {D}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MMM} {D}', null, null, null, 1],
  [60, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MMM} {D}', null, null, null, 1],
  [1, '{HH}:{mm}:{ss}', '\n{YYYY}-{MM}-{DD}', null, '\n{MMM} {D}', null, null, null, 1],
];

// chartOptions is the uPlot configuration of one chart. Colours are read from the page's CSS
// variables at every draw, so a switch between light and dark needs only a redraw.
function chartOptions(title, units, data, range, width) {
  // The read-out shows the hovered point, and the latest one while the cursor is elsewhere.
  const at = (i) => (i === null || i === undefined ? data.xs.length - 1 : i);
  const axis = { stroke: () => cssVar('--muted'), grid: { stroke: () => cssVar('--line'), width: 1 },
    ticks: { stroke: () => cssVar('--line'), width: 1 }, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
  return {
    width, height: width < 500 ? 200 : 240,
    scales: { x: { time: true, range: () => range } },
    cursor: { points: { size: 9 }, drag: { x: false, y: false } },
    legend: { live: true },
    series: [
      { label: 'Time', value: (u, v, si, i) => localTime(data.xs[at(i)]) },
      { label: title, stroke: () => cssVar('--chart'), fill: () => cssVar('--chart-fill'), width: 2, spanGaps: false,
        points: { show: true, size: 5, fill: () => cssVar('--chart') },
        value: (u, v, si, i) => (data.exact[at(i)] === null ? '—' : exactValue(data.exact[at(i)]) + (units.unit ? ' ' + units.unit : '')) },
    ],
    axes: [
      Object.assign({ values: TIME_TICKS, space: 70 }, axis),
      Object.assign({ label: units.label || units.unit, labelSize: 18, values: (u, splits) => splits.map(units.tick),
        size: (u, values) => 14 + 7 * Math.max(3, ...(values || []).map((s) => s.length)) }, axis),
    ],
  };
}

// timeChart draws items' key over the window [from, to] (ms) as a figure: title, caption,
// chart with its hover read-out, or a sentence when there is nothing to draw. kind is a key
// of UNITS; empty, when given, is the sentence shown without data. The figure follows its
// container's width and the system's colour scheme.
function timeChart(title, id, items, key, kind, from, to, empty) {
  const units = UNITS[kind];
  const data = chartData(items, key);
  const fig = el('figure', { class: 'tchart', id, 'data-points': data.count });
  if (data.count === 0) {
    fig.append(el('figcaption', {}, title), el('p', { class: 'muted empty' }, empty || `No observation in the last ${humanSpan(to - from)}. The poller records one at each refresh.`));
    return fig;
  }
  const { range, caption } = xRange(data.xs[0], data.count, from, to);
  const plot = el('div', { class: 'tchart-plot' });
  fig.append(el('figcaption', {}, title, ' ', el('span', { class: 'muted caption' }, caption)), plot);
  fig.uplot = plotChart(plot, (width) => chartOptions(title, units, data, range, width), data); // for the browser test
  return fig;
}

// plotChart draws data into plot with the options options(width) returns, at the page's width,
// and keeps the chart as wide as its container. It returns the uPlot instance.
function plotChart(plot, options, data) {
  const main = document.getElementById('main');
  const width = Math.max(240, (main ? main.clientWidth : 640) - 34);
  const u = new uPlot(options(width), [data.xs, data.ys], plot);
  const ro = new ResizeObserver(() => {
    if (!plot.isConnected) { ro.disconnect(); return; } // the page was left
    const w = plot.clientWidth;
    if (w > 0 && w !== u.width) u.setSize({ width: w, height: w < 500 ? 200 : 240 });
  });
  ro.observe(plot);
  return u;
}

// A switch of the system's colour scheme redraws every chart in its new colours.
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  for (const f of document.querySelectorAll('figure.tchart')) if (f.uplot) f.uplot.redraw(false, true);
});
