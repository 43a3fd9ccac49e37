-- What the chain certifies or declares, beyond module hash and controllers (issue 23).
-- Certified install facts (interface spec 0.66.0: /canister/<id>/canister_creation_timestamp
-- and last_install_timestamp), Unix ms; NULL where the replica does not certify them.
ALTER TABLE canisters ADD COLUMN canister_created_at INTEGER;
ALTER TABLE canisters ADD COLUMN last_installed_at INTEGER;
-- A canister whose status the IC refused to show (status_visibility not public) is asked again
-- at this time (Unix ms), not at every refresh; NULL: not known to be private.
ALTER TABLE canisters ADD COLUMN status_retry_at INTEGER;
-- Where each cycles observation came from: public_status, blackhole or sns_root.
ALTER TABLE canister_status ADD COLUMN source TEXT NOT NULL DEFAULT 'blackhole';
-- What immutable_since counts from: certified_install (last_install_timestamp) or
-- first_observed (the poller's first sight of the module hash); '' before a computation.
ALTER TABLE canister_badges ADD COLUMN immutable_basis TEXT NOT NULL DEFAULT '';
-- Ledger badges from the standards a token declares (ICRC-10, ICRC-106).
ALTER TABLE canister_badges ADD COLUMN icrc2 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE canister_badges ADD COLUMN icrc3 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE canister_badges ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE canister_badges ADD COLUMN privileged INTEGER NOT NULL DEFAULT 0;
-- A ledger's index canister (ICRC-106 icrc106_get_index_principal); '' if none.
ALTER TABLE tokens ADD COLUMN index_id TEXT NOT NULL DEFAULT '';
-- The change history also records installs (field 'install': the certified
-- last_install_timestamp, old and new as RFC 3339). SQLite cannot alter a CHECK constraint,
-- so the table is rebuilt with its rows, ids and index.
CREATE TABLE module_hash_changes_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    canister_id TEXT    NOT NULL,
    field       TEXT    NOT NULL CHECK (field IN ('module_hash', 'controllers', 'install')),
    old_value   TEXT    NOT NULL,
    new_value   TEXT    NOT NULL,
    observed_at INTEGER NOT NULL
);
INSERT INTO module_hash_changes_new (id, canister_id, field, old_value, new_value, observed_at)
    SELECT id, canister_id, field, old_value, new_value, observed_at FROM module_hash_changes;
DROP TABLE module_hash_changes;
ALTER TABLE module_hash_changes_new RENAME TO module_hash_changes;
CREATE INDEX module_hash_changes_canister ON module_hash_changes (canister_id, id);
