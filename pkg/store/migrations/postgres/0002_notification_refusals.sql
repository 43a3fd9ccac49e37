-- A refusal is the decision not to store a notification (its rate limit was spent), remembered
-- like a claim so that every replica copy of the key, in any process and after a restart, gets
-- the same reply until the refusal expires. A key is either claimed or refused, never both:
-- both decisions are taken inside one write transaction that checks the other table first.
CREATE TABLE notification_refusals (
    dedup_key       TEXT    COLLATE "C" PRIMARY KEY,
    response_status INTEGER NOT NULL,
    response_body   BYTEA   NOT NULL,
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX notification_refusals_expiry ON notification_refusals (expires_at);
