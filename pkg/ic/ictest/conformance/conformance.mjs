// Conformance of the replica double (pkg/ic/ictest) with DFINITY's official JavaScript agents.
//
// conformance_test.go starts the double, installs the canisters and passes what it expects as
// JSON in ICTEST_CONFIG. For each agent (@dfinity/agent 3.x: /api/v2 query and read_state;
// @icp-sdk/core 6.x: /api/v3 query and read_state) the script runs every check with query
// signature verification on and the double's root key, so each reply is checked against node
// keys certified by a BLS certificate with a root-signed subnet delegation. Any failed check,
// and any warning or error the agents log (CanisterStatus logs a failed certificate instead of
// throwing), fails the run: exit status 1.
import * as legacyAgent from '@dfinity/agent';
import * as legacyPrincipal from '@dfinity/principal';
import * as coreAgent from '@icp-sdk/core/agent';
import * as corePrincipal from '@icp-sdk/core/principal';

// Node 18 (Debian 12's nodejs) has Web Crypto only as a module, not as the global the agents'
// hashing and random helpers use.
if (!globalThis.crypto) {
  globalThis.crypto = (await import('node:crypto')).webcrypto;
}

const cfg = JSON.parse(process.env.ICTEST_CONFIG ?? '');
const rootKey = Uint8Array.from(Buffer.from(cfg.rootKey, 'hex'));

// Whatever the agents log as a warning or an error is a failure: a certificate CanisterStatus
// could not verify shows up only there.
const logged = [];
for (const level of ['warn', 'error']) {
  console[level] = (...args) => logged.push(`console.${level}: ${args.map(String).join(' ')}`);
}

let failures = 0;
let passes = 0;

function fail(agentName, name, message) {
  failures++;
  process.stdout.write(`FAIL ${agentName}: ${name}: ${message}\n`);
}

async function check(agentName, name, fn) {
  try {
    await fn();
    passes++;
    process.stdout.write(`ok   ${agentName}: ${name}\n`);
  } catch (err) {
    fail(agentName, name, err?.stack ?? String(err));
  }
}

function equal(what, got, want) {
  const g = JSON.stringify(got, jsonSafe);
  const w = JSON.stringify(want, jsonSafe);
  if (g !== w) {
    throw new Error(`${what}: got ${g}, want ${w}`);
  }
}

// jsonSafe prints bigints as decimal strings and principals as text, so values compare exactly.
function jsonSafe(_key, v) {
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && typeof v.toText === 'function' && v._isPrincipal) return v.toText();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

// Interfaces of ../shared/CANISTERS.md, as the double implements them.
function ledgerIDL({ IDL }) {
  const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) });
  const Value = IDL.Variant({ Nat: IDL.Nat, Int: IDL.Int, Text: IDL.Text, Blob: IDL.Vec(IDL.Nat8) });
  return IDL.Service({
    icrc1_name: IDL.Func([], [IDL.Text], ['query']),
    icrc1_symbol: IDL.Func([], [IDL.Text], ['query']),
    icrc1_decimals: IDL.Func([], [IDL.Nat8], ['query']),
    icrc1_fee: IDL.Func([], [IDL.Nat], ['query']),
    icrc1_total_supply: IDL.Func([], [IDL.Nat], ['query']),
    icrc1_metadata: IDL.Func([], [IDL.Vec(IDL.Tuple(IDL.Text, Value))], ['query']),
    icrc1_balance_of: IDL.Func([Account], [IDL.Nat], ['query']),
    no_such_method: IDL.Func([], [IDL.Nat], ['query']),
  });
}

// The same ledger methods as update calls: the agents send them to /api/v3 (@dfinity/agent)
// or /api/v4 (@icp-sdk/core) call and verify the certified request status.
function ledgerUpdateIDL({ IDL }) {
  return IDL.Service({
    icrc1_total_supply: IDL.Func([], [IDL.Nat], []),
    no_such_method: IDL.Func([], [IDL.Nat], []),
  });
}

function tokenIDL({ IDL }) {
  const SocialLink = IDL.Record({ url: IDL.Text, platform: IDL.Text });
  const common = {
    name: IDL.Text, ticker: IDL.Text, total_supply: IDL.Nat64, ledger_id: IDL.Opt(IDL.Principal),
    logo: IDL.Opt(IDL.Text), decimals: IDL.Nat8, transfer_fee: IDL.Nat64,
    social_links: IDL.Opt(IDL.Vec(SocialLink)),
  };
  // Decoding skips fields the type does not name (archive_options, the own-id field), as
  // Candid's record subtyping allows.
  const TokenInfo = IDL.Record(common);
  const TokenAllInfo = IDL.Record({
    ...common,
    average_block_time: IDL.Opt(IDL.Float64), formatted_block_time: IDL.Opt(IDL.Text),
    block_time_rating: IDL.Opt(IDL.Text), circulating_supply: IDL.Nat64,
    mining_progress_percentage: IDL.Text, current_block_reward: IDL.Nat64,
    formatted_block_reward: IDL.Text, current_block_height: IDL.Nat64,
  });
  return IDL.Service({
    get_info: IDL.Func([], [IDL.Variant({ Ok: TokenInfo, Err: IDL.Text })], ['query']),
    get_all_info: IDL.Func([], [IDL.Variant({ Ok: TokenAllInfo, Err: IDL.Text })], ['query']),
  });
}

function minerIDL({ IDL }) {
  const MinerInfo = IDL.Record({
    current_token: IDL.Opt(IDL.Principal), is_mining: IDL.Bool, speed_percentage: IDL.Nat8,
    chunks_per_refresh: IDL.Nat64, chunk_size: IDL.Nat64, icrc_version: IDL.Nat8,
  });
  const MiningStats = IDL.Record({
    blocks_mined: IDL.Nat64, total_hashes: IDL.Nat64, start_time: IDL.Nat64,
    last_hash_rate: IDL.Float64, total_rewards: IDL.Nat64, chunks_since_refresh: IDL.Nat64,
  });
  const CycleMeasurement = IDL.Record({ timestamp: IDL.Nat64, balance: IDL.Nat });
  const CycleUsageStats = IDL.Record({
    current_balance: IDL.Nat, measurements: IDL.Vec(CycleMeasurement),
    usage_last_15min: IDL.Opt(IDL.Nat), usage_rate_per_hour: IDL.Opt(IDL.Float64),
    estimated_remaining_time: IDL.Opt(IDL.Text),
  });
  return IDL.Service({
    get_info: IDL.Func([], [IDL.Variant({ Ok: MinerInfo, Err: IDL.Text })], ['query']),
    get_mining_stats: IDL.Func([], [IDL.Opt(MiningStats)], ['query']),
    get_cycle_usage: IDL.Func([], [CycleUsageStats], ['query']),
  });
}

async function runAgent(agentName, { agent: A, principal }) {
  const { Principal } = principal;
  const agent = await A.HttpAgent.create({
    host: cfg.url,
    rootKey,
    shouldFetchRootKey: false,
    verifyQuerySignatures: true,
    retryTimes: 0,
  });
  const actor = (idl, id) => A.Actor.createActor(idl, { agent, canisterId: Principal.fromText(id) });
  const ledger = actor(ledgerIDL, cfg.ledger.id);
  const ledgerUpdate = actor(ledgerUpdateIDL, cfg.ledger.id);
  const token = actor(tokenIDL, cfg.token.id);
  const miner = actor(minerIDL, cfg.miner.id);
  const L = cfg.ledger;

  await check(agentName, 'icrc1_name', async () => equal('name', await ledger.icrc1_name(), L.name));
  await check(agentName, 'icrc1_symbol', async () => equal('symbol', await ledger.icrc1_symbol(), L.symbol));
  await check(agentName, 'icrc1_decimals', async () => equal('decimals', await ledger.icrc1_decimals(), L.decimals));
  await check(agentName, 'icrc1_fee', async () => equal('fee', await ledger.icrc1_fee(), BigInt(L.fee)));
  await check(agentName, 'icrc1_total_supply above 2^64', async () => {
    const supply = await ledger.icrc1_total_supply();
    if (supply <= 2n ** 64n) throw new Error(`supply ${supply} is not above 2^64`);
    equal('total_supply', supply, BigInt(L.supply));
  });
  await check(agentName, 'icrc1_metadata', async () => {
    const md = Object.fromEntries(await ledger.icrc1_metadata());
    equal('icrc1:name', md['icrc1:name'], { Text: L.name });
    equal('icrc1:symbol', md['icrc1:symbol'], { Text: L.symbol });
    equal('icrc1:decimals', md['icrc1:decimals'], { Nat: BigInt(L.decimals) });
    equal('icrc1:fee', md['icrc1:fee'], { Nat: BigInt(L.fee) });
  });
  await check(agentName, 'icrc1_balance_of', async () => {
    const bal = await ledger.icrc1_balance_of({ owner: Principal.fromText(cfg.wallet.id), subaccount: [] });
    equal('balance', bal, BigInt(cfg.wallet.balance));
  });
  await check(agentName, 'reject of a missing method, signed and verified', async () => {
    let err;
    try {
      await ledger.no_such_method();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof A.RejectError)) {
      throw new Error(`want a RejectError, got ${err?.stack ?? err}`);
    }
    equal('reject code', err.cause.code.rejectCode, cfg.reject.code);
    equal('error code', err.cause.code.rejectErrorCode, cfg.reject.errorCode);
    if (!(err.cause.code.signatures?.length > 0)) throw new Error('the reject carries no node signature');
  });

  await check(agentName, 'update call icrc1_total_supply, certified', async () => {
    equal('total_supply', await ledgerUpdate.icrc1_total_supply(), BigInt(L.supply));
  });
  await check(agentName, 'update call of a missing method: certified reject', async () => {
    let err;
    try {
      await ledgerUpdate.no_such_method();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof A.RejectError)) {
      throw new Error(`want a RejectError, got ${err?.stack ?? err}`);
    }
    equal('kind', err.cause.code.name, 'CertifiedRejectErrorCode');
    equal('reject code', err.cause.code.rejectCode, cfg.reject.code);
    equal('error code', err.cause.code.rejectErrorCode, cfg.reject.errorCode);
  });

  const T = cfg.token;
  await check(agentName, 'PoW token get_info', async () => {
    const r = await token.get_info();
    if (!r.Ok) throw new Error(`get_info: ${JSON.stringify(r, jsonSafe)}`);
    equal('name', r.Ok.name, T.name);
    equal('ticker', r.Ok.ticker, T.ticker);
    equal('total_supply', r.Ok.total_supply, BigInt(T.totalSupply));
    equal('ledger_id', r.Ok.ledger_id.map(p => p.toText()), [T.ledgerID]);
    equal('decimals', r.Ok.decimals, T.decimals);
  });
  await check(agentName, 'PoW token get_all_info', async () => {
    const r = await token.get_all_info();
    if (!r.Ok) throw new Error(`get_all_info: ${JSON.stringify(r, jsonSafe)}`);
    equal('ticker', r.Ok.ticker, T.ticker);
    equal('current_block_height', r.Ok.current_block_height, BigInt(T.blockHeight));
    equal('current_block_reward', r.Ok.current_block_reward, BigInt(T.blockReward));
  });

  const M = cfg.miner;
  await check(agentName, 'miner get_info', async () => {
    const r = await miner.get_info();
    if (!r.Ok) throw new Error(`get_info: ${JSON.stringify(r, jsonSafe)}`);
    equal('current_token', r.Ok.current_token.map(p => p.toText()), [T.id]);
    equal('is_mining', r.Ok.is_mining, true);
    equal('chunk_size', r.Ok.chunk_size, BigInt(M.chunkSize));
  });
  await check(agentName, 'miner get_mining_stats', async () => {
    const [stats] = await miner.get_mining_stats();
    if (!stats) throw new Error('no mining stats');
    equal('total_hashes', stats.total_hashes, BigInt(M.totalHashes));
  });
  await check(agentName, 'miner get_cycle_usage', async () => {
    const u = await miner.get_cycle_usage();
    equal('current_balance', u.current_balance, BigInt(M.cycles));
  });

  const C = cfg.canister;
  await check(agentName, 'CanisterStatus module_hash, controllers, subnet', async () => {
    const canisterId = Principal.fromText(C.id);
    const status = await A.CanisterStatus.request({
      canisterId, agent, paths: ['module_hash', 'controllers', 'subnet', 'time'],
    });
    equal('module_hash', status.get('module_hash'), C.moduleHash);
    equal('controllers', (status.get('controllers') ?? []).map(p => p.toText()), C.controllers);
    const subnet = status.get('subnet');
    if (!subnet) throw new Error('no subnet status');
    equal('subnet id', subnet.subnetId, cfg.subnet);
    equal('node count', subnet.nodeKeys.size, cfg.nodes);
    if (!(status.get('time') instanceof Date)) throw new Error(`time: ${status.get('time')}`);
  });
  const before = logged.length;
  await check(agentName, 'CanisterStatus of an empty canister: no module_hash', async () => {
    const canisterId = Principal.fromText(cfg.empty.id);
    const status = await A.CanisterStatus.request({ canisterId, agent, paths: ['module_hash', 'controllers'] });
    equal('module_hash', status.get('module_hash') ?? null, null);
    equal('controllers', (status.get('controllers') ?? []).map(p => p.toText()), cfg.empty.controllers);
  });
  // CanisterStatus warns that an empty canister has no module hash (the certificate proves
  // the path absent); that one warning, from that one check, is expected.
  const expected = logged.splice(before).filter(l => !/path module_hash, but instead found nothing/.test(l));
  logged.push(...expected);
}

await runAgent('@dfinity/agent', { agent: legacyAgent, principal: legacyPrincipal });
await runAgent('@icp-sdk/core', { agent: coreAgent, principal: corePrincipal });

for (const line of logged) {
  fail('agents', 'logged', line);
}
process.stdout.write(`${passes} passed, ${failures} failed\n`);
process.exit(failures === 0 ? 0 : 1);
