-- Mining analytics (issue 27), kept incrementally from stored data by the notifier's follower
-- (store.SyncMining), never inside the intake's claim transaction: the follower reads
-- notifications of solution_found in id order from its position, and miner_stats in id order
-- from its own, and applies each batch with its new positions in one write transaction, so
-- every stored outcall counts exactly once (copies are counted on their notification and
-- refused outcalls are never stored, so neither adds a row). Rows outlive the retention of the
-- notifications they came from. Decimal nats (difficulty, reward) are TEXT; the *_key columns
-- are registry.NatKey (four-digit length, then the digits) so that text order is numeric order.

-- One row per solution_found outcall. repeat_of is NULL for the first solution of a
-- (token_id, block_height), else that first solution's notification_id: a repeat is listed but
-- never counted.
CREATE TABLE solutions (
    notification_id INTEGER PRIMARY KEY,
    token_id        TEXT    NOT NULL,
    block_height    TEXT    NOT NULL,
    miner_id        TEXT    NOT NULL,
    difficulty      TEXT    NOT NULL DEFAULT '',
    reward          TEXT    NOT NULL DEFAULT '',
    hash            TEXT    NOT NULL DEFAULT '',
    nonce           TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL,
    repeat_of       INTEGER
);
CREATE INDEX solutions_token ON solutions (token_id, notification_id);
CREATE INDEX solutions_token_miner ON solutions (token_id, miner_id, notification_id);
CREATE INDEX solutions_token_time ON solutions (token_id, received_at);

-- The first solution of each height: its primary key decides which one counts.
CREATE TABLE solution_heights (
    token_id        TEXT    NOT NULL,
    block_height    TEXT    NOT NULL,
    notification_id INTEGER NOT NULL,
    PRIMARY KEY (token_id, block_height)
);

-- Counted solutions per token and UTC minute (minute_at: its first Unix millisecond).
CREATE TABLE mining_minutes (
    token_id       TEXT    NOT NULL,
    minute_at      INTEGER NOT NULL,
    solutions      INTEGER NOT NULL,
    first_at       INTEGER NOT NULL,
    last_at        INTEGER NOT NULL,
    difficulty_min TEXT    NOT NULL DEFAULT '',
    difficulty_max TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (token_id, minute_at)
);

-- Per token, UTC hour and miner: counted solutions and their last time (the leaderboard), and
-- the hash rates the miner reported while mining the token (the series' network hash rate).
CREATE TABLE mining_hours (
    token_id          TEXT    NOT NULL,
    hour_at           INTEGER NOT NULL,
    miner_id          TEXT    NOT NULL,
    solutions         INTEGER NOT NULL DEFAULT 0,
    last_at           INTEGER NOT NULL DEFAULT 0,
    hash_rate_sum     REAL    NOT NULL DEFAULT 0,
    hash_rate_samples INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, hour_at, miner_id)
);

-- The follower's positions: 'solutions' (a notifications id) and 'hash_rates' (a miner_stats id).
CREATE TABLE mining_positions (
    name     TEXT    PRIMARY KEY,
    last_id  INTEGER NOT NULL
);
INSERT INTO mining_positions (name, last_id) VALUES ('solutions', 0), ('hash_rates', 0);
