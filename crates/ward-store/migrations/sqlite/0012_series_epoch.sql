-- What match answers show of series (each matched item's series and its flags) is held in
-- every node's memory. `epoch` moves on with every change to it (each keeper save, each
-- change of a series' name, flags or referral), and nodes read it as they follow the feed:
-- when it has moved, they forget what they held. The PostgreSQL migration of the same name
-- adds the same column.
ALTER TABLE series_keeper ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
