-- The outcall relay (issue 22): relay_calls is the log of upstream calls, one row per call
-- (a key's first copy made it; the others replay its stored reply), kept for the operators'
-- listing (GET /relay/calls); relay_claims is the dedup claim, one row per key while its window
-- lasts, whose primary key decides which copy calls the upstream. A running call belongs to
-- owner (one notifier process) until lease_expires_at; the owner renews it while the upstream
-- holds the request. state is running or done; result is ok, a failure code
-- (upstream_timeout, …, upstream_outcome_unknown) or too_many. The stored reply is the status,
-- the kept headers (a JSON array of [name, value] pairs, in order) and the body.
CREATE TABLE relay_calls (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    route            TEXT    NOT NULL,
    method           TEXT    NOT NULL,
    path             TEXT    NOT NULL,
    key_hash         TEXT    NOT NULL,
    fingerprint      TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    owner            TEXT    NOT NULL,
    lease_expires_at INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER NOT NULL DEFAULT 0,
    result           TEXT    NOT NULL,
    upstream_status  INTEGER NOT NULL DEFAULT 0,
    duration_ms      INTEGER NOT NULL DEFAULT 0,
    copies           INTEGER NOT NULL DEFAULT 1,
    copies_ipv4      INTEGER NOT NULL DEFAULT 0,
    copies_ipv6      INTEGER NOT NULL DEFAULT 0,
    diverged         INTEGER NOT NULL DEFAULT 0,
    response_status  INTEGER NOT NULL DEFAULT 0,
    response_head    TEXT    NOT NULL DEFAULT '[]',
    response_body    BLOB    NOT NULL
);
CREATE INDEX relay_calls_route ON relay_calls (route, id);
CREATE INDEX relay_calls_started ON relay_calls (started_at);

CREATE TABLE relay_claims (
    key_hash   TEXT    NOT NULL PRIMARY KEY,
    call_id    INTEGER NOT NULL REFERENCES relay_calls (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX relay_claims_call ON relay_claims (call_id);
CREATE INDEX relay_claims_expires ON relay_claims (expires_at);
