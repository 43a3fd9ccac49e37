-- Wallet balances over time: one row each time a wallet's balance in a ledger is first seen or
-- changes (wallet_balances keeps only the latest), for GET /wallets/{id}/balances. canister_id
-- is the wallet. Pruned with miner_stats (STATS_RETENTION).
CREATE TABLE wallet_balance_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    canister_id TEXT    NOT NULL REFERENCES canisters (canister_id) ON DELETE CASCADE,
    ledger_id   TEXT    NOT NULL,
    amount      TEXT    NOT NULL,
    observed_at INTEGER NOT NULL
);
CREATE INDEX wallet_balance_history_canister_time ON wallet_balance_history (canister_id, observed_at);

-- Every canister a discovery run found, kept after the canister is deleted (no foreign key):
-- a canister deleted by hand is not registered again. registered says whether discovery
-- registered it (1) or found it already registered by hand (0); name and kind are what
-- discovery last set, so that a name or kind changed by hand since is never overwritten.
CREATE TABLE discovered_canisters (
    canister_id   TEXT    PRIMARY KEY,
    source        TEXT    NOT NULL,
    origin        TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    registered    INTEGER NOT NULL,
    discovered_at INTEGER NOT NULL
);

-- One row per discovery run with its counts: the reply of GET /discover/sns.
CREATE TABLE discovery_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    cause       TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    daos        INTEGER NOT NULL DEFAULT 0,
    found       INTEGER NOT NULL DEFAULT 0,
    added       INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    kept        INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    errors      TEXT    NOT NULL DEFAULT '[]',
    added_ids   TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX discovery_runs_source ON discovery_runs (source, id);
