-- Coarser mining aggregates (issue 27's speed goal), kept by the same follower in the same
-- write transaction as 0011's: a 30-day /tokens/{id}/mining or /mining/series?step=1h read
-- 43,200 minute rows of a busy token and 720 hour rows per miner; with these it reads 720 token
-- hours and 30 days per miner (the minute, hour and solution rows only for the partial ends of a
-- range). Every column has the meaning of its 0011 counterpart.

-- Counted solutions per token and UTC hour, and the hour's network hash rate: the sum over
-- miners of the mean hash rate each reported while mining the token in that hour (NULL: no
-- report), recomputed from mining_hours when a refresh of that hour is applied.
CREATE TABLE mining_token_hours (
    token_id       TEXT    COLLATE "C" NOT NULL,
    hour_at        BIGINT  NOT NULL,
    solutions      BIGINT  NOT NULL DEFAULT 0,
    first_at       BIGINT  NOT NULL DEFAULT 0,
    last_at        BIGINT  NOT NULL DEFAULT 0,
    difficulty_min TEXT    COLLATE "C" NOT NULL DEFAULT '',
    difficulty_max TEXT    COLLATE "C" NOT NULL DEFAULT '',
    hash_rate      DOUBLE PRECISION,
    PRIMARY KEY (token_id, hour_at)
);

-- Counted solutions per token, UTC day and miner, and the last one's time (the leaderboard).
CREATE TABLE mining_miner_days (
    token_id  TEXT    COLLATE "C" NOT NULL,
    day_at    BIGINT  NOT NULL,
    miner_id  TEXT    COLLATE "C" NOT NULL,
    solutions BIGINT  NOT NULL DEFAULT 0,
    last_at   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, day_at, miner_id)
);

-- What the follower has applied so far, rolled up (times are never before 1970).
INSERT INTO mining_token_hours (token_id, hour_at, solutions, first_at, last_at, difficulty_min, difficulty_max)
SELECT token_id, minute_at - minute_at % 3600000, sum(solutions), min(first_at), max(last_at),
    coalesce(min(CASE WHEN difficulty_min <> '' THEN difficulty_min END), ''), max(difficulty_max)
FROM mining_minutes GROUP BY token_id, minute_at - minute_at % 3600000;

INSERT INTO mining_token_hours (token_id, hour_at, hash_rate)
SELECT token_id, hour_at, sum(hash_rate_sum / hash_rate_samples) FROM mining_hours
WHERE hash_rate_samples > 0 GROUP BY token_id, hour_at
ON CONFLICT (token_id, hour_at) DO UPDATE SET hash_rate = excluded.hash_rate;

INSERT INTO mining_miner_days (token_id, day_at, miner_id, solutions, last_at)
SELECT token_id, hour_at - hour_at % 86400000, miner_id, sum(solutions), max(last_at) FROM mining_hours
WHERE solutions > 0 GROUP BY token_id, hour_at - hour_at % 86400000, miner_id;
