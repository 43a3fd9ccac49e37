-- Trust badges the poller computes from chain data (module hash, controllers, their change
-- history) and known builds, one row per canister that was read. verified also follows writes
-- of module_hashes (PUT/DELETE /module-hashes/{hash}) in their own transaction.
CREATE TABLE canister_badges (
    canister_id            TEXT    PRIMARY KEY REFERENCES canisters (canister_id) ON DELETE CASCADE,
    module_hash            TEXT    NOT NULL DEFAULT '',
    verified               INTEGER NOT NULL DEFAULT 0,
    blackholed             INTEGER NOT NULL DEFAULT 0,
    immutable              INTEGER NOT NULL DEFAULT 0,
    immutable_since        INTEGER,
    controller_changed     INTEGER NOT NULL DEFAULT 0,
    controllers_changed_at INTEGER,
    computed_at            INTEGER NOT NULL
);
CREATE INDEX canister_badges_module_hash ON canister_badges (module_hash);

-- The outcall log by event, for GET /notifications?event=.
CREATE INDEX notifications_event ON notifications (event, id);
