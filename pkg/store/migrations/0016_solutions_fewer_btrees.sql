-- Fewer b-trees for the mining follower to write (issue 27: the intake's throughput with the
-- follower running). Each solution wrote six b-trees on SQLite: the solutions rowid table, its
-- three indexes, and solution_heights' rowid table and primary key index. Now four:
--  - solutions is a WITHOUT ROWID table keyed (token_id, miner_id, notification_id): the key
--    is a miner's listing in id order (what solutions_token_miner was), and the rows live in it;
--  - solutions_token (the token's listing) and solutions_token_time stay;
--  - solution_heights is a WITHOUT ROWID table: its primary key is the table.
-- The key is the miner's listing, not the token's, because SQLite (which has no statistics
-- here: nothing runs ANALYZE) prefers a covering primary key to an index with one more
-- equality: keyed by (token_id, notification_id), a listing filtered by miner walked all the
-- token's solutions. No query reads a solution by notification_id alone. Rows are kept.

CREATE TABLE solutions_0016 (
    notification_id INTEGER NOT NULL,
    token_id        TEXT    NOT NULL,
    block_height    TEXT    NOT NULL,
    miner_id        TEXT    NOT NULL,
    difficulty      TEXT    NOT NULL DEFAULT '',
    reward          TEXT    NOT NULL DEFAULT '',
    hash            TEXT    NOT NULL DEFAULT '',
    nonce           TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL,
    repeat_of       INTEGER,
    PRIMARY KEY (token_id, miner_id, notification_id)
) WITHOUT ROWID;
INSERT INTO solutions_0016 (notification_id, token_id, block_height, miner_id, difficulty, reward, hash, nonce, received_at, repeat_of)
SELECT notification_id, token_id, block_height, miner_id, difficulty, reward, hash, nonce, received_at, repeat_of FROM solutions;
DROP TABLE solutions;
ALTER TABLE solutions_0016 RENAME TO solutions;
CREATE INDEX solutions_token ON solutions (token_id, notification_id);
CREATE INDEX solutions_token_time ON solutions (token_id, received_at);

CREATE TABLE solution_heights_0016 (
    token_id        TEXT    NOT NULL,
    block_height    TEXT    NOT NULL,
    notification_id INTEGER NOT NULL,
    PRIMARY KEY (token_id, block_height)
) WITHOUT ROWID;
INSERT INTO solution_heights_0016 (token_id, block_height, notification_id)
SELECT token_id, block_height, notification_id FROM solution_heights;
DROP TABLE solution_heights;
ALTER TABLE solution_heights_0016 RENAME TO solution_heights;
