-- The heights that count are a partial unique index of solutions instead of a table of their
-- own (issue 27: the intake's throughput with the mining follower running). solution_heights
-- held, per token and block height, the notification id of the first solution stored with it:
-- exactly the solutions whose repeat_of is NULL. The follower now inserts a batch's first
-- solution of each height with INSERT … ON CONFLICT (token_id, block_height) WHERE repeat_of IS
-- NULL DO NOTHING RETURNING, and its repeats next: one structure fewer written per solution
-- (a b-tree on SQLite; a heap row on PostgreSQL, where the index replaces the table's key).
-- A solution that solution_heights did not name for its height, but that is not marked as a
-- repeat (none is, short of a hand-edited database), is marked first, so that the index can be
-- built.
UPDATE solutions SET repeat_of = (SELECT h.notification_id FROM solution_heights h
    WHERE h.token_id = solutions.token_id AND h.block_height = solutions.block_height)
WHERE repeat_of IS NULL AND EXISTS (SELECT 1 FROM solution_heights h WHERE h.token_id = solutions.token_id
    AND h.block_height = solutions.block_height AND h.notification_id <> solutions.notification_id);
CREATE UNIQUE INDEX solutions_first_height ON solutions (token_id, block_height) WHERE repeat_of IS NULL;
DROP TABLE solution_heights;
