// canistry /test page: connects to the notifier's WebSocket (same origin, also through the
// api's proxy), shows the last HISTORY events from the event log on load and then each event
// as it happens, keeps running tallies per token and per miner, and in LOCAL_DEV offers
// buttons that send simulated outcalls through the real intake.
//
// The connection is canistry's WebSocket client module (ws/client.js, served beside /ws): after
// a drop it reconnects with ?since=<cursor>, so the server replays exactly what was missed (in
// order, once) and the tallies stay right.
// replay.gap (history pruned) is shown; replay.reset (another log: the database was recreated)
// clears the page, which then shows the new log from its beginning.
(function () {
  'use strict';

  var MAX_CARDS = 200;
  var HISTORY = 50; // events from the log shown on first load
  var base = location.pathname.replace(/test\/?$/, ''); // the prefix the page is served under
  var body = document.body;
  var feed = document.getElementById('feed');
  var client = import(base + 'ws/client.js'); // the module, loaded once
  var feedConn = null; // the open feed (its close() ends it for good)
  var lastId = 0;
  var cursor = ''; // of the last logged event shown: where a reconnect resumes
  var counts = { events: 0, solutions: 0 };
  var tokens = new Map();
  var miners = new Map();
  // The live leaderboard of the token of the latest solution: GET tokens/{id}/mining (the api's,
  // when the page is served through its proxy: stored counts, copies and repeated heights once);
  // served by the notifier alone, it counts this page's stream instead (first block height wins).
  var board = { token: '', timer: null, stream: new Map(), heights: new Set() };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setStatus(state, text) {
    body.dataset.ws = state;
    document.getElementById('status-text').textContent = text;
    document.getElementById('connect').textContent = state === 'closed' ? 'Connect' : 'Disconnect';
  }

  // connect opens the feed through the WebSocket client module served beside /ws
  // (ws/client.js): it reconnects with jittered backoff and resumes from the last cursor it
  // delivered; the page's own cursor resumes a feed the visitor disconnected and connects again.
  function connect() {
    setStatus('connecting', 'connecting…');
    var opts = {
      onEvent: show, onGap: show, onReset: show,
      onState: function (state, info) {
        if (state === 'open') setStatus('open', 'live');
        else if (state === 'reconnecting') {
          setStatus('connecting', 'reconnecting in ' + Math.max(1, Math.round(info.delay / 1000)) + ' s' + (info.reason ? ' (' + info.reason + ')' : ''));
        } else if (state === 'closed') setStatus('closed', 'disconnected');
      }
    };
    if (cursor) opts.since = cursor; // replay exactly what was missed
    else opts.last = HISTORY; // first load: recent history
    client.then(function (m) {
      if (body.dataset.ws !== 'connecting' || feedConn) return; // disconnected meanwhile
      feedConn = m.connect(base + 'ws', opts);
    }, function () { setStatus('closed', 'the WebSocket client (ws/client.js) could not be loaded'); });
  }

  function disconnect() {
    if (feedConn) { var c = feedConn; feedConn = null; c.close(); }
    setStatus('closed', 'disconnected');
  }

  function short(id) {
    return typeof id === 'string' && id.length > 17 ? id.slice(0, 11) + '…' + id.slice(-5) : String(id || '–');
  }

  // reset forgets everything derived from the old log.
  function reset() {
    lastId = 0;
    cursor = '';
    counts = { events: 0, solutions: 0 };
    tokens.clear();
    miners.clear();
    board.stream.clear();
    board.heights.clear();
    while (feed.firstChild) feed.removeChild(feed.firstChild);
    document.querySelectorAll('#tokens tbody, #miners tbody').forEach(function (tb) {
      while (tb.firstChild) tb.removeChild(tb.firstChild);
    });
    ['count-events', 'count-solutions', 'count-miners', 'count-tokens'].forEach(function (id) {
      document.getElementById(id).textContent = '0';
    });
    document.getElementById('last-id').textContent = '–';
  }

  function show(e) {
    if (typeof e !== 'object' || e === null || typeof e.event !== 'string') return;
    if (e.event === 'replay.reset') reset();
    if (e.id > 0) {
      // The server sends each logged event once, in id order; this only guards against a
      // misbehaving proxy replaying a frame.
      if (e.id <= lastId) return;
      lastId = e.id;
      if (typeof e.cursor === 'string') cursor = e.cursor;
      document.getElementById('last-id').textContent = String(lastId);
    }
    var data = (e.data && typeof e.data === 'object') ? e.data : {};
    var miner = e.miner_id || data.miner_id || '';
    var outcall = !!e.miner_id || e.notification_id > 0;
    addCard(e, data, miner, outcall);
    if (e.id > 0) bump('count-events', ++counts.events);
    if (e.event === 'solution_found') {
      bump('count-solutions', ++counts.solutions);
      if (!e.timestamp || Date.now() - e.timestamp < 60000) celebrate(data); // not for old history
    }
    if (outcall) tally(e.event, data, miner);
    if (e.event === 'solution_found' && typeof data.token_id === 'string') boardSolution(data, miner);
  }

  function boardSolution(data, miner) {
    var key = data.token_id + '/' + data.block_height;
    if (!board.heights.has(key)) {
      board.heights.add(key);
      var per = board.stream.get(data.token_id) || new Map();
      per.set(miner, (per.get(miner) || 0) + 1);
      board.stream.set(data.token_id, per);
    }
    board.token = data.token_id;
    if (!board.timer) board.timer = setTimeout(refreshBoard, 250);
  }

  function refreshBoard() {
    board.timer = null;
    var tok = board.token;
    document.getElementById('board-token').textContent = '· token ' + short(tok);
    fetch(base + 'tokens/' + encodeURIComponent(tok) + '/mining', { headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (m) {
        if (tok !== board.token) return;
        drawBoard(m.miners.map(function (r) { return [r.name || r.miner_id, r.solutions, r.share]; }),
          'stored, last 24 h: ' + m.solutions + ' solutions');
      }, function () {
        if (tok !== board.token) return;
        var per = board.stream.get(tok) || new Map(), total = 0, rows = [];
        per.forEach(function (n) { total += n; });
        per.forEach(function (n, m) { rows.push([m, n, n / total]); });
        rows.sort(function (a, b) { return b[1] - a[1]; });
        drawBoard(rows, 'counted from this page\'s stream');
      });
  }

  function drawBoard(rows, source) {
    var tb = document.querySelector('#board tbody');
    while (tb.firstChild) tb.removeChild(tb.firstChild);
    rows.slice(0, 10).forEach(function (r, i) {
      var tr = el('tr');
      tr.appendChild(el('td', '', String(i + 1)));
      var who = el('td', 'id', short(r[0]));
      who.title = r[0];
      tr.appendChild(who);
      tr.appendChild(el('td', '', String(r[1])));
      var share = el('td');
      var bar = el('span', 'bar'), fill = el('span');
      fill.style.width = (r[2] * 100).toFixed(1) + '%';
      bar.appendChild(fill);
      share.appendChild(bar);
      share.appendChild(document.createTextNode((r[2] * 100).toFixed(1) + ' %'));
      tr.appendChild(share);
      tb.appendChild(tr);
    });
    document.getElementById('board-source').textContent = source;
  }

  function addCard(e, data, miner, outcall) {
    var li = el('li', 'card');
    li.dataset.event = e.event;
    li.dataset.id = String(e.id);
    if (e.event === 'solution_found') li.classList.add('solution');
    else if (e.event === 'replay.gap' || e.event === 'replay.reset') li.classList.add('notice');
    else if (!outcall) li.classList.add('registry');
    else if (['token_connected', 'mining_started'].indexOf(e.event) < 0) li.classList.add('unknown');
    var top = el('div', 'top');
    var title = e.event;
    if (e.event === 'solution_found') title = 'solution found' + (data.block_height !== undefined ? ' · block #' + data.block_height : '');
    top.appendChild(el('span', 'name', title));
    var when = e.timestamp ? new Date(e.timestamp).toLocaleTimeString() : '';
    top.appendChild(el('span', 'meta', (e.id > 0 ? '#' + e.id + ' · ' : '') + when));
    li.appendChild(top);
    var who = [];
    if (miner) who.push('miner ' + short(miner));
    if (data.token_id) who.push('token ' + short(data.token_id) + (data.ticker ? ' (' + data.ticker + ')' : ''));
    if (who.length) li.appendChild(el('div', 'meta', who.join(' · ')));
    var json = JSON.stringify(data);
    li.appendChild(el('pre', '', json.length > 400 ? json.slice(0, 400) + '…' : json));
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > MAX_CARDS) feed.removeChild(feed.lastChild);
  }

  function bump(id, value) {
    var span = document.getElementById(id);
    span.textContent = String(value);
    var box = span.parentElement;
    box.classList.remove('bump');
    void box.offsetWidth; // restart the animation
    box.classList.add('bump');
  }

  function celebrate(data) {
    var flash = document.getElementById('flash');
    flash.classList.remove('on');
    void flash.offsetWidth;
    flash.classList.add('on');
    var layer = document.getElementById('bursts');
    var banner = el('div', 'banner', 'Block' + (data.block_height !== undefined ? ' #' + data.block_height : '') + ' found!' +
      (data.ticker ? ' · ' + data.ticker : ''));
    layer.appendChild(banner);
    var cx = window.innerWidth / 2, cy = window.innerHeight * 0.38;
    for (var i = 0; i < 28; i++) {
      var s = el('span', 'spark');
      var angle = (Math.PI * 2 * i) / 28, dist = 120 + Math.random() * 220;
      s.style.left = cx + 'px';
      s.style.top = cy + 'px';
      s.style.setProperty('--dx', Math.cos(angle) * dist + 'px');
      s.style.setProperty('--dy', Math.sin(angle) * dist + 'px');
      layer.appendChild(s);
    }
    setTimeout(function () {
      while (layer.firstChild) layer.removeChild(layer.firstChild);
    }, 2300);
  }

  function row(map, table, id, fields) {
    var r = map.get(id);
    if (!r) {
      r = { tr: el('tr'), cells: {} };
      var idCell = el('td', 'id', short(id));
      idCell.title = id;
      r.tr.appendChild(idCell);
      fields.forEach(function (f) {
        r.cells[f] = el('td', '', '0');
        r.tr.appendChild(r.cells[f]);
      });
      r.tr.dataset.id = id;
      document.querySelector('#' + table + ' tbody').appendChild(r.tr);
      map.set(id, r);
      document.getElementById('count-' + table).textContent = String(map.size);
    }
    return r;
  }

  function inc(r, field, value) {
    var c = r.cells[field];
    c.textContent = value !== undefined ? String(value) : String(Number(c.textContent) + 1);
    c.classList.remove('changed');
    void c.offsetWidth;
    c.classList.add('changed');
  }

  var columns = { token_connected: 'connected', mining_started: 'started', solution_found: 'solutions' };

  function tally(event, data, miner) {
    var col = columns[event];
    if (data.token_id) {
      var t = row(tokens, 'tokens', data.token_id, ['connected', 'started', 'solutions', 'block']);
      if (col) inc(t, col);
      if (event === 'solution_found' && data.block_height !== undefined) inc(t, 'block', data.block_height);
    }
    if (miner) inc(row(miners, 'miners', miner, ['connected', 'started', 'solutions', 'other']), col || 'other');
  }

  function simulate(name, button) {
    var out = document.getElementById('sim-result');
    button.disabled = true;
    fetch(base + 'test/simulate?event=' + encodeURIComponent(name), { method: 'POST' })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (!res.ok) throw new Error(res.j.error ? res.j.error.message : 'failed');
        var j = res.j;
        out.textContent = j.event + ': ' + j.copies + ' replica copies → HTTP ' + j.status + ', ' +
          (j.identical ? 'all replies byte-identical' : 'REPLIES DIFFER') + ', stored once as #' + j.id;
      })
      .catch(function (err) { out.textContent = 'simulation failed: ' + err.message; })
      .then(function () { button.disabled = false; });
  }

  document.getElementById('connect').addEventListener('click', function () {
    if (feedConn || body.dataset.ws === 'connecting') disconnect(); else connect();
  });
  if (body.dataset.localDev === 'true') {
    document.getElementById('sim-panel').hidden = false;
    document.querySelectorAll('[data-sim]').forEach(function (b) {
      b.addEventListener('click', function () { simulate(b.dataset.sim, b); });
    });
  }
  connect();
})();
