-- Forensics of an outcall's copies (issue 21): for the first 64 copies of each notification,
-- where it came from (the trusted client address and its family, ipv6 or ipv4), when (ms after
-- the first copy) and the sha256 of its body. seq is the copy's rank among the recorded ones.
-- Rows go with their notification (ON DELETE CASCADE), on the notifications' retention path.
CREATE TABLE notification_copies (
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    family          TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    offset_ms       INTEGER NOT NULL,
    body_hash       TEXT    NOT NULL,
    PRIMARY KEY (notification_id, seq)
);
