-- Webhooks: endpoints that receive the event log's events (those their filter passes), signed
-- (Standard Webhooks), in id order, one at a time. cursor is the id of the last event the
-- endpoint got or that its filter skipped; attempts/next_attempt_at are the retry state of the
-- event after it; state is 'active' or 'failing' (the retry budget ran out: nothing is sent
-- until POST /webhooks/{id}/enable). lease_owner/lease_until: the one worker (notifier
-- instance) that may deliver to the endpoint, until the lease expires unless renewed.
-- Times are ms since the epoch. Plain SQL only: the same statements run on PostgreSQL.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL DEFAULT '', -- comma-separated event names; '' = every event
    token_id        TEXT    NOT NULL DEFAULT '',
    miner_id        TEXT    NOT NULL DEFAULT '',
    description     TEXT    NOT NULL DEFAULT '',
    secret          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'active',
    cursor          INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    failing_since   INTEGER,
    delivered       INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0
);

-- The attempt log: one row per delivery attempt, the newest kept per endpoint (bounded).
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    INTEGER NOT NULL,
    event       TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0, -- HTTP status; 0 when no response came
    duration_ms INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    response    TEXT    NOT NULL DEFAULT ''  -- the first bytes of the response body
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id);
