-- What the chain certifies or declares, beyond module hash and controllers (issue 23).
-- Certified install facts (interface spec 0.66.0: /canister/<id>/canister_creation_timestamp
-- and last_install_timestamp), Unix ms; NULL where the replica does not certify them.
ALTER TABLE canisters ADD COLUMN canister_created_at BIGINT;
ALTER TABLE canisters ADD COLUMN last_installed_at BIGINT;
-- A canister whose status the IC refused to show (status_visibility not public) is asked again
-- at this time (Unix ms), not at every refresh; NULL: not known to be private.
ALTER TABLE canisters ADD COLUMN status_retry_at BIGINT;
-- Where each cycles observation came from: public_status, blackhole or sns_root.
ALTER TABLE canister_status ADD COLUMN source TEXT COLLATE "C" NOT NULL DEFAULT 'blackhole';
-- What immutable_since counts from: certified_install (last_install_timestamp) or
-- first_observed (the poller's first sight of the module hash); '' before a computation.
ALTER TABLE canister_badges ADD COLUMN immutable_basis TEXT COLLATE "C" NOT NULL DEFAULT '';
-- Ledger badges from the standards a token declares (ICRC-10, ICRC-106).
ALTER TABLE canister_badges ADD COLUMN icrc2 BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE canister_badges ADD COLUMN icrc3 BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE canister_badges ADD COLUMN indexed BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE canister_badges ADD COLUMN privileged BOOLEAN NOT NULL DEFAULT false;
-- A ledger's index canister (ICRC-106 icrc106_get_index_principal); '' if none.
ALTER TABLE tokens ADD COLUMN index_id TEXT COLLATE "C" NOT NULL DEFAULT '';
-- The change history also records installs (field 'install': the certified
-- last_install_timestamp, old and new as RFC 3339).
ALTER TABLE module_hash_changes DROP CONSTRAINT module_hash_changes_field_check;
ALTER TABLE module_hash_changes ADD CONSTRAINT module_hash_changes_field_check
    CHECK (field IN ('module_hash', 'controllers', 'install'));
