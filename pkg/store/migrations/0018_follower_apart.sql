-- PostgreSQL only (postgres/0018_follower_apart.sql: the mining follower writes apart from the
-- write lock, and data_version gets a second row). SQLite has one writer, which the follower
-- shares, and PRAGMA data_version counts every commit: nothing changes here. The file keeps
-- the two sets' version numbers the same.
SELECT 1;
