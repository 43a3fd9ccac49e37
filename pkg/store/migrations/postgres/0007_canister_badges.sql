-- Trust badges the poller computes from chain data (module hash, controllers, their change
-- history) and known builds, one row per canister that was read. verified also follows writes
-- of module_hashes (PUT/DELETE /module-hashes/{hash}) in their own transaction.
CREATE TABLE canister_badges (
    canister_id            TEXT    COLLATE "C" PRIMARY KEY REFERENCES canisters (canister_id) ON DELETE CASCADE,
    module_hash            TEXT    COLLATE "C" NOT NULL DEFAULT '',
    verified               BOOLEAN NOT NULL DEFAULT false,
    blackholed             BOOLEAN NOT NULL DEFAULT false,
    immutable              BOOLEAN NOT NULL DEFAULT false,
    immutable_since        BIGINT,
    controller_changed     BOOLEAN NOT NULL DEFAULT false,
    controllers_changed_at BIGINT,
    computed_at            BIGINT  NOT NULL
);
CREATE INDEX canister_badges_module_hash ON canister_badges (module_hash);

-- The outcall log by event, for GET /notifications?event=.
CREATE INDEX notifications_event ON notifications (event, id);
