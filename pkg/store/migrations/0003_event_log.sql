-- The event log: every event that reaches /ws (outcall events and registry events alike) is a
-- row here, written in the same transaction as the change it describes. Ids are the log's
-- sequence; hubs deliver rows strictly in id order. logged_at is the server's clock (ms), used
-- for retention; timestamp is the event's own time as clients see it. notification_id links an
-- outcall event to its notification row.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event           TEXT    NOT NULL,
    data            TEXT    NOT NULL DEFAULT '{}',
    timestamp       INTEGER NOT NULL,
    miner_id        TEXT    NOT NULL DEFAULT '',
    notification_id INTEGER,
    logged_at       INTEGER NOT NULL
);
CREATE INDEX events_logged ON events (logged_at);

-- The log's epoch, generated once when the log is created: a cursor carries it, so a cursor
-- of another log (a recreated database, whose ids start again at 1) is recognised.
CREATE TABLE event_log (
    epoch      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO event_log (epoch, created_at)
    VALUES (lower(hex(randomblob(8))), CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- Notifications stored before the log existed keep their ids as event ids, so ?since= values
-- that clients hold stay valid across the upgrade.
INSERT INTO events (id, event, data, timestamp, miner_id, notification_id, logged_at)
    SELECT id, event, data, ic_timestamp / 1000000, miner_id, id, received_at FROM notifications ORDER BY id;
