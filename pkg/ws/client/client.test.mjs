// Tests of client.js against the real notifier binary: node --test client.test.mjs, started by
// cmd/notifier's TestWSClient_Node (go test), which builds the binary and runs NATS, and passes
// NOTIFIER_BIN and NATS_URL. The notifier is started, killed (-9) and restarted here, on one
// port, so that the client's reconnects find it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connect } from './client.js';

const BIN = process.env.NOTIFIER_BIN;
const NATS_URL = process.env.NATS_URL;
const KEY = 'node-client-key-0123456789';
const MINER = 'ryjl3-tyaaa-aaaaa-aaaba-cai';
const TOKEN = 'mxzaz-hqaaa-aaaar-qaada-cai';
const PATIENCE_MS = 30000; // a hang guard, never an assertion about speed
const FAST = { base: 20, max: 200 }; // backoff for the tests: the restart is what they wait for

// waitFor polls cond until it holds, or fails after PATIENCE_MS.
async function waitFor(what, cond) {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// running are the notifier processes started; the runner's exit kills any a failed test left.
const running = new Set();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

// notifier runs the binary on port with its database in dir until kill().
async function notifier(dir, port) {
  const env = {
    DATA_DIR: dir, NOTIFIER_ADDR: `127.0.0.1:${port}`, NATS_URL, NOTIFY_API_KEYS: KEY, HEARTBEAT_INTERVAL: '1s',
  };
  const proc = spawn(BIN, ['-env-file', ''], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  running.add(proc);
  const exited = new Promise((r) => proc.once('exit', () => { running.delete(proc); r(); }));
  const kill = async () => { proc.kill('SIGKILL'); await exited; };
  try {
    await waitFor(`the notifier on port ${port}`, async () => {
      try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200; } catch { return false; }
    });
  } catch (err) {
    await kill(); // a process left running would keep the test runner alive
    throw err;
  }
  return { kill };
}

// post sends one solution_found outcall with data.nonce = n; true when the notifier took it.
async function post(port, n) {
  const ts = (BigInt(Date.now()) * 1000000n + BigInt(n)).toString();
  const body = `{"event":"solution_found","miner_id":"${MINER}","timestamp":${ts},"data":{"token_id":"${TOKEN}","ticker":"TST","block_height":${n},"nonce":${n},"hash":"00ff","difficulty":5,"reward":50,"decimals":8}}`;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/miner-notifications`, {
      method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-API-Key': KEY, 'User-Agent': 'ic/1.0' },
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false; // the notifier is down
  }
}

// feed connects a client that records what it is given.
function feed(port, opts = {}) {
  const got = { events: [], resets: [], gaps: [], states: [] };
  got.conn = connect(`ws://127.0.0.1:${port}/ws`, {
    WebSocket, backoff: FAST, ...opts,
    onEvent: (e) => got.events.push(e),
    onReset: (e) => got.resets.push(e),
    onGap: (e) => got.gaps.push(e),
    onState: (s, info) => got.states.push({ s, ...info }),
  });
  got.nonces = () => got.events.filter((e) => e.event === 'solution_found').map((e) => e.data.nonce);
  got.opens = () => got.states.filter((x) => x.s === 'open').length;
  return got;
}

function assertInOrderOnce(events) {
  const ids = events.map((e) => e.id);
  for (let i = 1; i < ids.length; i++) {
    assert.equal(ids[i], ids[i - 1] + 1, `ids not consecutive at ${i}: ${ids.slice(Math.max(0, i - 3), i + 3)}`);
  }
}

test('a notifier killed and restarted mid-stream: every id once, in order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wsclient-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  let n = await notifier(dir, port);
  t.after(() => n.kill());
  const got = feed(port);
  t.after(() => got.conn.close());
  await waitFor('the first connection', () => got.opens() === 1);

  const taken = [];
  const send = async (from, to) => { for (let i = from; i <= to; i++) if (await post(port, i)) taken.push(i); };
  await send(1, 10);
  await waitFor('the first 10 events', () => got.nonces().length >= 10);
  await send(11, 15); // some may still be on their way to the client when it dies
  await n.kill();
  n = await notifier(dir, port); // same database, same port
  await send(16, 30); // live or replayed, depending on when the client is back
  await waitFor('the client back on the restarted notifier', () => got.opens() >= 2);
  await send(31, 35);
  await waitFor('every event taken', () => taken.every((i) => got.nonces().includes(i)));
  await n.kill();

  assert.equal(taken.length, 35, 'the notifier took every outcall while up');
  assert.deepEqual(got.nonces(), taken, 'each outcall delivered once, in order');
  assertInOrderOnce(got.events);
  assert.ok(got.states.some((x) => x.s === 'reconnecting'), 'the client noticed the drop');
  assert.equal(got.resets.length, 0);
  assert.match(got.conn.cursor, /^[0-9a-f]{16}:\d+$/);
  assert.equal(got.conn.lastId, got.events.at(-1).id);
});

test('a recreated database (a new event-log epoch): onReset, then the new log from id 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wsclient-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  let n = await notifier(join(dir, 'a'), port);
  t.after(() => n.kill());
  const got = feed(port, { last: 100 });
  t.after(() => got.conn.close());
  await waitFor('the first connection', () => got.opens() === 1);
  for (let i = 1; i <= 3; i++) assert.ok(await post(port, i));
  await waitFor('3 events', () => got.nonces().length === 3);
  const before = got.conn.cursor;
  await n.kill();

  n = await notifier(join(dir, 'b'), port); // another database: another epoch, ids from 1 again
  await waitFor('replay.reset', () => got.resets.length === 1);
  assert.ok(await post(port, 4));
  await waitFor('the event of the new log', () => got.nonces().includes(4));

  const reset = got.resets[0];
  assert.equal(reset.data.since, before);
  assert.notEqual(reset.data.epoch, before.split(':')[0]);
  const last = got.events.at(-1);
  assert.equal(last.id, 1, 'the new log starts at 1 and is delivered although 1 ≤ the old last id');
  assert.equal(last.cursor, `${reset.data.epoch}:1`);
  assert.deepEqual(got.nonces(), [1, 2, 3, 4]);
});

test('close(): no reconnect and no callback after it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wsclient-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const n = await notifier(dir, port);
  t.after(() => n.kill());
  const got = feed(port);
  await waitFor('the connection', () => got.opens() === 1);
  const status = async () => (await (await fetch(`http://127.0.0.1:${port}/ws-status`)).json()).clients;
  await waitFor('one client on the notifier', async () => (await status()) === 1);
  got.conn.close();
  assert.equal(got.states.at(-1).s, 'closed');
  await waitFor('no client on the notifier', async () => (await status()) === 0);
  const states = got.states.length;
  assert.ok(await post(port, 1));
  // A second client that sees the event proves it was published; the closed one must not.
  const other = feed(port, { last: 10 });
  t.after(() => other.conn.close());
  await waitFor('the event elsewhere', () => other.nonces().includes(1));
  assert.equal(got.events.length, 0);
  assert.equal(got.states.length, states, 'no state change after close()');
  assert.equal(await status(), 1, 'only the second client is connected');
});

// fakeSocket stands for a WebSocket whose frames the test writes: the server never sends an id
// twice, so only a fake can show that the client would drop one.
class FakeSocket {
  static last = null;
  constructor(url) { this.url = url; this.readyState = 0; FakeSocket.last = this; queueMicrotask(() => { this.readyState = 1; this.onopen?.(); }); }
  send(e) { this.onmessage?.({ data: JSON.stringify(e) }); }
  close() { this.readyState = 3; }
}

test('ids not above the last delivered are dropped; after replay.reset the new log starts at 1', async () => {
  const got = [];
  const resets = [];
  const conn = connect('ws://example.invalid/ws?events=solution_found', {
    WebSocket: FakeSocket, since: 'aaaaaaaaaaaaaaaa:4', miner: MINER, onEvent: (e) => got.push(e.id), onReset: () => resets.push(1),
  });
  const s = FakeSocket.last;
  const u = new URL(s.url);
  assert.equal(u.searchParams.get('since'), 'aaaaaaaaaaaaaaaa:4');
  assert.equal(u.searchParams.get('events'), 'solution_found');
  assert.equal(u.searchParams.get('miner'), MINER);
  const ev = (id, epoch = 'aaaaaaaaaaaaaaaa') => ({ id, event: 'x', data: {}, timestamp: 1, cursor: `${epoch}:${id}` });
  for (const id of [3, 4, 5, 5, 6, 2, 7]) s.send(ev(id));
  assert.deepEqual(got, [5, 6, 7]);
  s.send({ id: 0, event: 'replay.reset', data: {}, timestamp: 1 });
  for (const id of [1, 2, 2]) s.send(ev(id, 'bbbbbbbbbbbbbbbb'));
  assert.deepEqual(got, [5, 6, 7, 1, 2]);
  assert.equal(resets.length, 1);
  assert.equal(conn.cursor, 'bbbbbbbbbbbbbbbb:2');
  conn.close();
  s.send(ev(3, 'bbbbbbbbbbbbbbbb'));
  assert.deepEqual(got, [5, 6, 7, 1, 2], 'nothing after close()');
});
