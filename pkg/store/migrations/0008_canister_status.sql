-- Cycles and memory of canisters whose controllers include a public status canister (the
-- blackhole's canister_status), one row per observation, kept as long as miner_stats.
CREATE TABLE canister_status (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    canister_id         TEXT    NOT NULL REFERENCES canisters (canister_id) ON DELETE CASCADE,
    observed_at         INTEGER NOT NULL,
    status              TEXT    NOT NULL,
    cycles              TEXT    NOT NULL,
    memory_size         TEXT    NOT NULL,
    idle_cycles_per_day TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX canister_status_canister_time ON canister_status (canister_id, observed_at);
