-- The mining follower writes apart from the intake (issue 27: the intake's throughput with the
-- follower running). Its transactions run on a connection of their own without the advisory
-- write lock (pkg/store/mining_sync.go). Every write transaction also locked data_version's one
-- row until it committed (the statement trigger's UPDATE), which would still have made every
-- claim wait for a follower's batch. So data_version gets a second row, which the follower's
-- tables bump (their triggers pass '2', see followerTables in pkg/store/postgres.go; the store
-- re-creates the triggers dropped here at open), and DataVersion reads the sum of the rows.
ALTER TABLE data_version DROP CONSTRAINT data_version_id_check;
ALTER TABLE data_version ADD CONSTRAINT data_version_id_check CHECK (id IN (1, 2));
INSERT INTO data_version (id, v) VALUES (2, 0);

-- The row to bump is the trigger's argument (none: row 1, as the triggers made before 0018).
-- It is bumped once per transaction; the transaction-local setting is per row.
CREATE OR REPLACE FUNCTION canistry_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id integer := CASE WHEN TG_NARGS > 0 THEN TG_ARGV[0]::integer ELSE 1 END;
    bumped text := 'canistry.data_version_bumped_' || row_id;
BEGIN
    IF current_setting(bumped, true) IS DISTINCT FROM 'on' THEN
        UPDATE data_version SET v = v + 1 WHERE id = row_id;
        PERFORM set_config(bumped, 'on', true);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS canistry_data_version ON solutions;
DROP TRIGGER IF EXISTS canistry_data_version ON solution_heights;
DROP TRIGGER IF EXISTS canistry_data_version ON mining_minutes;
DROP TRIGGER IF EXISTS canistry_data_version ON mining_token_hours;
DROP TRIGGER IF EXISTS canistry_data_version ON mining_hours;
DROP TRIGGER IF EXISTS canistry_data_version ON mining_miner_days;
DROP TRIGGER IF EXISTS canistry_data_version ON mining_positions;
