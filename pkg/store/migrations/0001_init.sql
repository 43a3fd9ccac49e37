-- canistry schema v1: every table of DESIGN.md. Times are INTEGER Unix milliseconds (UTC);
-- unbounded Candid nat values are TEXT decimal strings; lists are JSON arrays in TEXT.

CREATE TABLE canisters (
    pk                   INTEGER PRIMARY KEY AUTOINCREMENT, -- stable insertion order: the list cursor
    canister_id          TEXT    NOT NULL UNIQUE,           -- principal text, validated
    kind                 TEXT    NOT NULL CHECK (kind IN ('token', 'miner', 'wallet', 'other')),
    name                 TEXT    NOT NULL DEFAULT '',
    description          TEXT    NOT NULL DEFAULT '',
    tags                 TEXT    NOT NULL DEFAULT '[]',
    module_hash          TEXT    NOT NULL DEFAULT '',
    controllers          TEXT    NOT NULL DEFAULT '[]',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_attempt_at      INTEGER,
    last_success_at      INTEGER,
    last_error           TEXT    NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX canisters_kind ON canisters (kind, pk);
CREATE INDEX canisters_due ON canisters (next_attempt_at);
CREATE INDEX canisters_module_hash ON canisters (module_hash);

CREATE TABLE tokens (
    canister_id           TEXT    PRIMARY KEY REFERENCES canisters (canister_id) ON DELETE CASCADE,
    interfaces            TEXT    NOT NULL DEFAULT '[]',
    name                  TEXT    NOT NULL DEFAULT '',
    symbol                TEXT    NOT NULL DEFAULT '',
    decimals              INTEGER NOT NULL DEFAULT 0,
    fee                   TEXT    NOT NULL DEFAULT '',
    total_supply          TEXT    NOT NULL DEFAULT '',
    minting_account       TEXT    NOT NULL DEFAULT '',
    supported_standards   TEXT    NOT NULL DEFAULT '[]',
    metadata              TEXT    NOT NULL DEFAULT '{}',
    logo_media_type       TEXT    NOT NULL DEFAULT '',
    logo_url              TEXT    NOT NULL DEFAULT '',
    logo_dropped          INTEGER NOT NULL DEFAULT 0,
    ledger_id             TEXT    NOT NULL DEFAULT '',
    block_height          TEXT    NOT NULL DEFAULT '',
    block_reward          TEXT    NOT NULL DEFAULT '',
    circulating_supply    TEXT    NOT NULL DEFAULT '',
    average_block_time    REAL,
    mining_progress       TEXT    NOT NULL DEFAULT '',
    social_links          TEXT    NOT NULL DEFAULT '[]',
    raw                   TEXT    NOT NULL DEFAULT '{}',
    updated_at            INTEGER NOT NULL
);
CREATE INDEX tokens_ledger ON tokens (ledger_id);

-- Logos live apart from tokens so that listing tokens never reads up to 256 KiB per row.
CREATE TABLE token_logos (
    canister_id TEXT    PRIMARY KEY REFERENCES tokens (canister_id) ON DELETE CASCADE,
    media_type  TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    sha256      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE miners (
    canister_id            TEXT    PRIMARY KEY REFERENCES canisters (canister_id) ON DELETE CASCADE,
    current_token          TEXT    NOT NULL DEFAULT '',
    is_mining              INTEGER NOT NULL DEFAULT 0,
    speed_percentage       INTEGER NOT NULL DEFAULT 0,
    chunk_size             INTEGER NOT NULL DEFAULT 0,
    chunks_per_refresh     INTEGER NOT NULL DEFAULT 0,
    icrc_version           INTEGER NOT NULL DEFAULT 0,
    supports_stats         INTEGER NOT NULL DEFAULT 0,
    supports_cycle_usage   INTEGER NOT NULL DEFAULT 0,
    cycle_balance          TEXT    NOT NULL DEFAULT '',
    cycle_usage_per_hour   REAL,
    cycle_usage_last_15min TEXT    NOT NULL DEFAULT '',
    estimated_remaining    TEXT    NOT NULL DEFAULT '',
    updated_at             INTEGER NOT NULL
);
CREATE INDEX miners_current_token ON miners (current_token);

CREATE TABLE miner_stats (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    canister_id          TEXT    NOT NULL REFERENCES canisters (canister_id) ON DELETE CASCADE,
    observed_at          INTEGER NOT NULL,
    blocks_mined         INTEGER NOT NULL,
    total_hashes         INTEGER NOT NULL,
    hash_rate            REAL    NOT NULL,
    total_rewards        INTEGER NOT NULL,
    chunks_since_refresh INTEGER NOT NULL DEFAULT 0,
    start_time           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX miner_stats_canister_time ON miner_stats (canister_id, observed_at);
CREATE INDEX miner_stats_time ON miner_stats (observed_at);

CREATE TABLE wallet_balances (
    wallet_id  TEXT    NOT NULL REFERENCES canisters (canister_id) ON DELETE CASCADE,
    ledger_id  TEXT    NOT NULL,
    amount     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (wallet_id, ledger_id)
);

CREATE TABLE module_hashes (
    hash       TEXT    PRIMARY KEY CHECK (length(hash) = 64),
    name       TEXT    NOT NULL,
    version    TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL DEFAULT '',
    source_url TEXT    NOT NULL DEFAULT '',
    notes      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- The audit trail of hash and controller changes. No foreign key: history outlives a deletion.
CREATE TABLE module_hash_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    canister_id TEXT    NOT NULL,
    field       TEXT    NOT NULL CHECK (field IN ('module_hash', 'controllers')),
    old_value   TEXT    NOT NULL,
    new_value   TEXT    NOT NULL,
    observed_at INTEGER NOT NULL
);
CREATE INDEX module_hash_changes_canister ON module_hash_changes (canister_id, id);

-- The outcall log; its id is the event sequence replayed on /ws?since=.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key       TEXT    NOT NULL,
    miner_id        TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    ic_timestamp    INTEGER NOT NULL,
    data            TEXT    NOT NULL DEFAULT '{}',
    body_hash       TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    copies          INTEGER NOT NULL DEFAULT 1,
    diverged        INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER NOT NULL,
    response_body   BLOB    NOT NULL
);
CREATE INDEX notifications_dedup ON notifications (dedup_key);
CREATE INDEX notifications_miner ON notifications (miner_id, id);
CREATE INDEX notifications_received ON notifications (received_at);

-- The dedup claim: one row per key while its window lasts. The UNIQUE primary key decides which
-- copy of a replicated outcall has the effect; an expired claim may be replaced.
CREATE TABLE notification_claims (
    dedup_key       TEXT    PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX notification_claims_expiry ON notification_claims (expires_at);

CREATE TABLE processes (
    name         TEXT    NOT NULL,
    instance     TEXT    NOT NULL,
    version      TEXT    NOT NULL DEFAULT '',
    addr         TEXT    NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    PRIMARY KEY (name, instance)
);
