-- SQLite's 0017 rebuilds notification_claims and notification_copies as WITHOUT ROWID tables
-- (one b-tree each instead of a table and its primary key's index). PostgreSQL has no rowid
-- tables to change: its tables are heaps with their primary key's index either way, and the
-- columns, keys and indexes are already those of SQLite's. Nothing to do here; the number
-- keeps the two sets in step.
SELECT 1;
