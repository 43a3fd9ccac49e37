// Types of canistry's WebSocket client, GET /ws/client.js (served beside it as /ws/client.d.ts).

/** One message of /ws: a logged event (id > 0, with a cursor), or a notice (id 0). */
export interface Event {
  /** The event's position in the event log; 0 for notices that are not logged (replay.gap, replay.reset). */
  id: number;
  /** The event's name: solution_found, canister.registered, replay.reset, … */
  event: string;
  data: Record<string, unknown>;
  /** The IC time of an outcall in ms, or when a registry change happened. */
  timestamp: number;
  /** `<epoch>:<id>`: where to resume. Present on logged events. */
  cursor?: string;
  /** The miner of an outcall event. */
  miner_id?: string;
  /** The stored notification of an outcall event. */
  notification_id?: number;
}

/** replay.reset: the cursor is not of this log (the database was recreated, or it lies beyond the head). */
export interface ResetEvent extends Event {
  event: 'replay.reset';
  data: { since: string; epoch: string; head: number; message: string };
}

/** replay.gap: retention deleted events after the cursor; the replay starts at the oldest stored one. */
export interface GapEvent extends Event {
  event: 'replay.gap';
  data: { since: number; oldest: number; epoch: string; message: string };
}

export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateInfo {
  /** connecting: how many attempts failed before this one. */
  attempt?: number;
  /** reconnecting: the wait before the next attempt, in ms. */
  delay?: number;
  /** reconnecting: the close code and reason of the connection that ended. */
  code?: number;
  reason?: string;
}

export interface Options {
  /** Resume after this cursor (`<epoch>:<id>`) or event id. */
  since?: string | number;
  /** Without since: start with the last this many logged events (1–1000). Without either: live only. */
  last?: number;
  /** Only these event names. */
  events?: string[] | string;
  /** Only events of this token canister. */
  token?: string;
  /** Only events of this miner canister. */
  miner?: string;
  /** Each logged event once, in id order (and any other message without an id). */
  onEvent?: (e: Event) => void;
  /** The cursor was of another log: drop what you derived; the log follows from its beginning. */
  onReset?: (e: ResetEvent) => void;
  /** Events after the cursor are no longer stored; the replay goes on from the oldest stored one. */
  onGap?: (e: GapEvent) => void;
  /** Connection state changes. */
  onState?: (state: State, info: StateInfo) => void;
  /** Backoff in ms: attempt n waits between half and all of min(max, base * 2^n). Defaults 500 and 30000. */
  backoff?: { base?: number; max?: number };
  /** A WebSocket constructor where there is no global one (Node 20: the ws package). */
  WebSocket?: unknown;
}

export interface Connection {
  /** Closes for good: no callback and no reconnect after it. */
  close(): void;
  /** The cursor of the last logged event delivered ('' before the first). */
  readonly cursor: string;
  /** The id of the last logged event delivered (0 before the first). */
  readonly lastId: number;
}

export const BACKOFF_BASE_MS: number;
export const BACKOFF_MAX_MS: number;

/** Connects to a canistry /ws endpoint (ws(s)://, http(s):// or a path relative to the page) and keeps the connection. */
export function connect(url: string | URL, opts?: Options): Connection;
