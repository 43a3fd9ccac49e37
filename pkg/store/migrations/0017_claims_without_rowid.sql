-- The claim path's keyed tables without a rowid (issue 26): a new claim inserted into each of
-- notification_claims (keyed by its dedup key) and notification_copies (keyed by notification
-- and seq) went into two b-trees, the table by rowid and its primary key's index; as WITHOUT
-- ROWID tables the primary key is the table, one b-tree each. Same columns, keys, constraints
-- and indexes; the rows are copied over. Nothing refers to either table, and neither its rowid.
CREATE TABLE notification_claims_0017 (
    dedup_key       TEXT    PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    expires_at      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO notification_claims_0017 (dedup_key, notification_id, expires_at)
    SELECT dedup_key, notification_id, expires_at FROM notification_claims;
DROP TABLE notification_claims;
ALTER TABLE notification_claims_0017 RENAME TO notification_claims;
CREATE INDEX notification_claims_expiry ON notification_claims (expires_at);

CREATE TABLE notification_copies_0017 (
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    family          TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    offset_ms       INTEGER NOT NULL,
    body_hash       TEXT    NOT NULL,
    PRIMARY KEY (notification_id, seq)
) WITHOUT ROWID;
INSERT INTO notification_copies_0017 (notification_id, seq, family, source, offset_ms, body_hash)
    SELECT notification_id, seq, family, source, offset_ms, body_hash FROM notification_copies;
DROP TABLE notification_copies;
ALTER TABLE notification_copies_0017 RENAME TO notification_copies;
