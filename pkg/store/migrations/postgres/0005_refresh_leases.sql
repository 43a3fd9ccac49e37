-- A refresh lease: the poller instance that took a due canister for its sweep, until when.
-- With several pollers on one database, a sweep only takes due canisters that no other live
-- lease holds, so two pollers never read the same canister in the same sweep. A lease outlives
-- its canister harmlessly (a new sweep replaces it); rows are swept when they expire.
CREATE TABLE refresh_leases (
    canister_id TEXT    COLLATE "C" PRIMARY KEY,
    owner       TEXT    COLLATE "C" NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX refresh_leases_expiry ON refresh_leases (expires_at);
