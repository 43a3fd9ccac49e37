-- Fewer indexes for the mining follower to write (issue 27: the intake's throughput with the
-- follower running). Each solution wrote the solutions heap, its primary key (notification_id)
-- and three indexes. Now the primary key is (token_id, miner_id, notification_id), a miner's
-- listing in id order (what solutions_token_miner was, as on SQLite), so that index goes. No
-- query reads a solution by notification_id alone. Rows are kept as they are.
ALTER TABLE solutions DROP CONSTRAINT solutions_pkey;
ALTER TABLE solutions ADD PRIMARY KEY (token_id, miner_id, notification_id);
DROP INDEX solutions_token_miner;
